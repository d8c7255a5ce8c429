//! The real `ocd` binary as a separate process (decisions.md#real-processes): nothing shared in memory.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, ChildStdout, Command, Stdio};

pub struct OcdProcess {
    pub child: Child,
    pub base: String,
    /// What the process printed on stdout before serving (URL, database, key lines).
    pub banner: Vec<String>,
    pub stderr: Option<ChildStderr>,
    /// Kept open: a closed pipe would make the server's later prints fail.
    stdout: BufReader<ChildStdout>,
}

pub fn temp_dir() -> PathBuf {
    std::env::temp_dir().join(format!("ocd-proc-{}", ocd::crypto::random_hex(6)))
}

impl OcdProcess {
    /// Starts `ocd` on a free port; returns once it printed its URL and key lines.
    pub fn start(data_dir: &Path, env: &[(&str, &str)]) -> OcdProcess {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ocd"));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATA_DIR", data_dir)
            .env("PORT", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn ocd");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        // Read up to the API key line (and the key itself when it was just generated).
        let mut banner: Vec<String> = Vec::new();
        loop {
            let mut line = String::new();
            if stdout.read_line(&mut line).unwrap_or(0) == 0 {
                panic!("ocd exited before serving: {banner:?}");
            }
            let line = line.trim_end().to_string();
            let after_generated = banner.last().is_some_and(|l| l.starts_with("API key (generated"));
            let done = line.starts_with("API key") && !line.starts_with("API key (generated");
            banner.push(line);
            if done || after_generated {
                break;
            }
        }
        let base = banner[0].strip_prefix("ocd is running at ").expect("URL line").trim_end_matches('/').to_string();
        let stderr = child.stderr.take();
        OcdProcess { child, base, banner, stderr, stdout }
    }

    /// The next line the process prints on stdout (blocks until there is one).
    pub fn read_line(&mut self) -> String {
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("read stdout");
        line.trim_end().to_string()
    }

    /// `kill -9`: no chance to flush or shut down.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for OcdProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}
