//! The IR verifier.

use super::Kernel;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {message}")]
pub struct VerifyError {
    /// The instruction or value at fault, as printed (`inst12`, `v3`), or `kernel`.
    pub location: String,
    pub message: String,
}

pub fn verify(kernel: &Kernel) -> Result<(), Vec<VerifyError>> {
    let _ = kernel;
    unimplemented!("verifier: owned by the IR text work")
}
