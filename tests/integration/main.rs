//! xnas's one integration-test binary (as ripgrep's): each module tests one area end to end.
//! Tests that train need libtorch and are compiled only with the `torch` feature (the default).

#[cfg(feature = "torch")]
mod binaries;
#[cfg(feature = "torch")]
mod compare;
mod docs;
#[cfg(feature = "torch")]
mod epochs;
mod examples;
#[cfg(feature = "torch")]
mod failures;
#[cfg(feature = "torch")]
mod folder;
mod layers;
#[cfg(feature = "torch")]
mod models;
#[cfg(feature = "torch")]
mod network;
#[cfg(feature = "torch")]
mod optuna;
#[cfg(feature = "torch")]
mod outputs;
#[cfg(feature = "torch")]
mod parallel;
#[cfg(feature = "torch")]
mod ray;
#[cfg(feature = "torch")]
mod refusals;
#[cfg(feature = "torch")]
mod reload;
#[cfg(feature = "torch")]
mod run;
mod script;
mod script_analysis;
mod stdlib;
mod store;
#[cfg(feature = "torch")]
mod study;
#[cfg(feature = "torch")]
mod table;
#[cfg(feature = "torch")]
mod training;
mod trust;
