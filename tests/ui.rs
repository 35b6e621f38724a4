//! Placeholder: this harness is being written.
