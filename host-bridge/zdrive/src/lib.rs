//! zdrive engine.
