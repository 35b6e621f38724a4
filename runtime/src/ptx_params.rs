//! Reads the parameter list of a PTX `.entry`, to check it against the kernel ABI at load time.
//!
//! The driver reads each kernel parameter with the size the PTX declares, so a disagreement
//! between the ABI (what the launcher packs) and the PTX (what the kernel reads) would launch
//! with garbage arguments. [`entry_param_sizes`] extracts the declared sizes; `Kernel::load`
//! compares them with [`crate::launch::abi_param_sizes`] and refuses a mismatch as
//! [`crate::RuntimeError::AbiMismatch`]. Only the entry's header is read; the parser is
//! deliberately small: `.param [.align N] [qualifiers] .TYPE NAME[COUNT]` items separated by
//! commas (LLVM writes f16 and bf16 parameters as 2-byte arrays).

/// The byte size of each parameter of `.entry entry(...)`, in order; `None` when the PTX has
/// no such entry or its header is not understood.
pub fn entry_param_sizes(ptx: &str, entry: &str) -> Option<Vec<u32>> {
    let header_start = ptx.match_indices(".entry").find_map(|(at, _)| {
        let rest = ptx[at + ".entry".len()..].trim_start();
        let name_len =
            rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$' || c == '.'))?;
        (&rest[..name_len] == entry).then(|| ptx.len() - rest.len() + name_len)
    })?;
    let after_name = ptx[header_start..].trim_start();
    let body = after_name.strip_prefix('(')?;
    let params = &body[..body.find(')')?];
    params
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(param_size)
        .collect()
}

/// Size of one `.param [.align N] [qualifiers] .TYPE NAME[COUNT]` item. LLVM declares f16 and
/// bf16 parameters as byte arrays: `.param .align 2 .b8 k_param_3[2]`.
fn param_size(item: &str) -> Option<u32> {
    let mut words = item.split_whitespace().peekable();
    (words.next()? == ".param").then_some(())?;
    let mut element = None;
    let mut name = None;
    while let Some(word) = words.next() {
        if word == ".align" {
            words.next()?;
        } else if word.starts_with('.') {
            // A type (`.u64`) or a qualifier without a size (`.ptr`, `.global`).
            element = element.or(type_size(word));
        } else {
            name = Some(word);
        }
    }
    let count = match name?.split_once('[') {
        Some((_, rest)) => rest.strip_suffix(']')?.trim().parse::<u32>().ok()?,
        None => 1,
    };
    Some(element? * count)
}

/// Size in bytes of a PTX fundamental type such as `.u64` or `.b16`.
fn type_size(ty: &str) -> Option<u32> {
    let bits: u32 = ty
        .strip_prefix('.')?
        .trim_start_matches(|c: char| c.is_ascii_alphabetic())
        .parse()
        .ok()?;
    matches!(bits, 8 | 16 | 32 | 64).then_some(bits / 8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sizes_in_order() {
        let ptx = "
.version 8.0
.visible .entry other(.param .u8 x) { ret; }
.visible .entry attention(
	.param .u64 .ptr .global .align 16 attention_param_0,
	.param .u32 attention_param_1,
	.param .b16 attention_param_2,
	.param .f32 attention_param_3,
	.param .u8 attention_param_4
)
.maxntid 128, 1, 1
{ ret; }";
        assert_eq!(
            entry_param_sizes(ptx, "attention"),
            Some(vec![8, 4, 2, 4, 1])
        );
        assert_eq!(entry_param_sizes(ptx, "other"), Some(vec![1]));
        assert_eq!(entry_param_sizes(ptx, "attn"), None);
        assert_eq!(entry_param_sizes(".entry k()\n{}", "k"), Some(vec![]));
        assert_eq!(
            entry_param_sizes(
                ".entry k(.param .align 2 .b8 k_param_3[2], .param .u8 b)",
                "k"
            ),
            Some(vec![2, 1])
        );
        assert_eq!(entry_param_sizes(".entry k(.param .u32)", "k"), None);
    }

    #[test]
    fn the_handwritten_test_kernel_parses() {
        let ptx = include_str!("../tests/gpu/scale_copy.ptx");
        assert_eq!(
            entry_param_sizes(ptx, "scale_copy"),
            Some(vec![8, 4, 8, 4, 4])
        );
    }
}
