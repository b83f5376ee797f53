fn main() -> std::process::ExitCode {
    secauto::main()
}
