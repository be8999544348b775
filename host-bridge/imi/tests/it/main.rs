//! iMi tests.
