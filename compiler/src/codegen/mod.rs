//! Code generation: tile IR (with layouts) to LLVM IR for `nvptx64-nvidia-cuda`, then PTX.

pub mod abi;
