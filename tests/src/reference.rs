//! Plain host references (float64) for the examples; the interpreter is checked against these.
