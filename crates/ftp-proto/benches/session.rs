// Placeholder until its owner writes the benchmark.
fn main() {}
