//! The house rules of `src/`, checked by reading rk's own source: no
//! file-level import cycle and no import up a layer (`architecture`), and no
//! function longer than 150 lines (`function_length`). Both read the source
//! through [`source`], so they agree on what is code and what is a comment or
//! a literal.

mod architecture;
mod function_length;
mod source;
