//! Spring Boot configuration: binding, warnings, the fuzzed loader and the deploy files.

mod config;
mod config_fuzz;
mod deploy_compose;
