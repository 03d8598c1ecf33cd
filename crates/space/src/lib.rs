//! The NAS-Bench-201 cell search space that XNAS searches.
//!
//! A cell is a DAG on four nodes; each of its six edges `j ← i` (i < j) carries one of five
//! operations. A [`Genome`] is those six operations in NAS-Bench-201's edge order
//! e(1←0), e(2←0), e(2←1), e(3←0), e(3←1), e(3←2) — the order in which they appear in an arch
//! string `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`. The paper (and the authors' code) write a genome as six
//! integers in *its own* op codes (0 conv3x3, 1 conv1x1, 2 avgpool3x3, 3 zeroize, 4 skip), which
//! differ from NAS-Bench-201's op order; [`Op::code`] and [`Op::nb201_name`] keep both straight.
//!
//! ```
//! use xnas_space::Genome;
//! let g: Genome = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
//!     .parse().unwrap();
//! assert_eq!(g.compact(), "002404");
//! assert_eq!(Genome::parse_compact("002404").unwrap(), g);
//! assert!(g.is_valid());
//! ```
//!
//! Beyond the genome itself: [`Genome::canonical`] gives NAS-Bench-201's form under isomorphism
//! (6,466 distinct forms over the space, see [`SpaceCounts`]), and [`params`] and [`flops`] count
//! the network a genome builds under a [`MacroConfig`], equal to NAS-Bench-201's figures.
//!
//! This crate has no dependency on libtorch, so search code and tools can use it on their own.

pub mod canonical;
pub mod cost;
mod genome;

pub use canonical::{distinct_valid_cells, CanonicalForm, SpaceCounts};
pub use cost::{flops, params, training_memory, MacroConfig, MacroConfigError, NUM_STAGES};
pub use genome::{Edge, Genome, Op, ParseError, EDGES, NUM_EDGES, NUM_NODES, NUM_OPS};
