//! The pipeline as one readable function per entry point: parse, lower, verify.
