fn main() {
    std::process::exit(rk::cli::main());
}
