//! Integration tests of the secret filter: the labelled corpus and its recall and false-positive figures.

mod corpus;
