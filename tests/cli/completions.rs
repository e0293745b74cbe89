//! `rk completions SHELL`: a script the shell accepts and that completes
//! rk's commands.

use crate::common::TestEnv;
use std::process::Command;

#[test]
fn bash_completes_commands_and_options() {
    let env = TestEnv::new();
    let out = env.run(&["completions", "bash"]);
    assert_eq!(out.status.code(), Some(0));
    env.write("rk.bash", &out.stdout);
    let Ok(probe) = Command::new("bash").arg("--version").output() else {
        eprintln!("skipped: no bash");
        return;
    };
    assert!(probe.status.success());
    let complete = |words: &str| -> String {
        let script = format!(
            "source rk.bash; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); \
             _rk rk \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; \
             printf '%s\\n' \"${{COMPREPLY[@]}}\""
        );
        let out = Command::new("bash")
            .args(["-c", &script])
            .current_dir(env.root())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let commands = complete("rk sta");
    assert_eq!(commands.lines().collect::<Vec<_>>(), ["status"]);
    // Hidden commands are not offered.
    assert_eq!(complete("rk demo").lines().collect::<Vec<_>>(), ["demo"]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("demo-orchestrator"));
    let options = complete("rk status --j");
    assert!(options.lines().any(|l| l == "--json"), "{options}");
    let values = complete("rk list --sort ''");
    assert_eq!(values.lines().collect::<Vec<_>>(), ["name", "updated"]);
}

#[test]
fn zsh_and_fish_scripts_name_every_command() {
    let env = TestEnv::new();
    for shell in ["zsh", "fish"] {
        let out = env.run(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0));
        let script = String::from_utf8(out.stdout).unwrap();
        for command in [
            "resume",
            "status",
            "diff-config",
            "scan-trials",
            "completions",
        ] {
            assert!(script.contains(command), "{shell} script lacks {command}");
        }
        assert!(
            !script.contains("demo-orchestrator"),
            "{shell} script offers the hidden demo-orchestrator"
        );
    }
    insta::assert_snapshot!(env.render(&["completions", "tcsh"]), @r"
    [stderr]
    rk: error: invalid value 'tcsh' for '<SHELL>' [possible values: bash, elvish, fish, powershell, zsh]
    rk: hint: a similar value exists: 'zsh'; `rk completions --help` shows every option
    [exit status: 2]
    ");
}
