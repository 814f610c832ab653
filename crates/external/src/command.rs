//! The command kind: one program per variant speaking the command protocol
//! (`docs/external.md`) on its stdin and stdout, started at the variant's first
//! call and reused. A reader thread parses replies (a JSON line, then the bytes
//! it announces) and hands them over a channel, so every call waits at most
//! `timeout_s`; a writer thread sends requests, so a program that stops reading
//! cannot block the runner either. The first failure (the program cannot start,
//! exits, hangs, answers malformed, short or wrong-length replies, or `ok:false`)
//! is recorded and answers every later call: no restarts.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{json, Value};
use softmax_lab_core::variant::check_call;
use softmax_lab_core::{
    DType, Direction, Options, Rows, RowsMut, Source, SourceStatus, Variant, VariantError,
    VariantInfo,
};

use crate::decl::{Access, Declaration};

/// The protocol version this runner speaks (`hello`'s `protocol`).
pub const PROTOCOL: u32 = 1;

/// The longest reply line read (1 MiB): a program that writes an endless line
/// fails instead of filling the runner's memory.
const MAX_LINE: usize = 1 << 20;

/// A reply as the reader thread hands it over.
struct Reply {
    header: Value,
    bytes: Vec<u8>,
}

/// What the reader thread can see go wrong (the call adds who and what).
enum ReadFail {
    /// The program closed its output before a reply line.
    Eof,
    /// The line is not a JSON object (the line, cut short).
    NotJson(String),
    /// Fewer bytes than announced before the output closed.
    Short { announced: usize, got: usize },
    /// A read error.
    Io(String),
}

/// A running program.
struct Peer {
    child: Child,
    to_writer: Option<Sender<Vec<u8>>>,
    from_reader: Receiver<Result<Reply, ReadFail>>,
}

enum State {
    NotStarted,
    Running(Box<Peer>),
    /// Recorded failure or unavailability; every later call answers it.
    Stopped(VariantError),
}

struct Inner {
    state: State,
    name: String,
    versions: Vec<(String, String)>,
    status: SourceStatus,
}

/// An external variant reached through the command protocol (see the module docs).
pub struct CommandVariant {
    info: VariantInfo,
    decl: Declaration,
    inner: Mutex<Inner>,
}

fn read_replies(out: impl Read, tx: Sender<Result<Reply, ReadFail>>) {
    let mut r = BufReader::new(out);
    loop {
        let mut line = Vec::new();
        let got = (&mut r).take(MAX_LINE as u64).read_until(b'\n', &mut line);
        let msg = match got {
            Err(e) => Err(ReadFail::Io(e.to_string())),
            Ok(0) => Err(ReadFail::Eof),
            Ok(_) => {
                let text = String::from_utf8_lossy(&line).trim_end().to_string();
                match serde_json::from_str::<Value>(&text) {
                    Ok(header) if header.is_object() => {
                        let announced = header
                            .get("bytes")
                            .and_then(Value::as_u64)
                            .map_or(0, |b| b as usize);
                        let mut bytes = Vec::new();
                        match (&mut r).take(announced as u64).read_to_end(&mut bytes) {
                            Err(e) => Err(ReadFail::Io(e.to_string())),
                            Ok(got) if got < announced => Err(ReadFail::Short { announced, got }),
                            Ok(_) => Ok(Reply { header, bytes }),
                        }
                    }
                    _ => {
                        let cut: String = text.chars().take(120).collect();
                        Err(ReadFail::NotJson(cut))
                    }
                }
            }
        };
        let stop = msg.is_err();
        if tx.send(msg).is_err() || stop {
            return;
        }
    }
}

fn write_requests(mut stdin: ChildStdin, rx: Receiver<Vec<u8>>) {
    for m in rx {
        if stdin.write_all(&m).and_then(|_| stdin.flush()).is_err() {
            return;
        }
    }
    // Dropping stdin closes it: EOF means bye.
}

fn bytes_of(x: &Rows<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(x.len() * x.dtype().size_bytes());
    match x {
        Rows::F16(v) => v.iter().for_each(|e| out.extend(e.to_bits().to_le_bytes())),
        Rows::BF16(v) => v.iter().for_each(|e| out.extend(e.to_bits().to_le_bytes())),
        Rows::F32(v) => v.iter().for_each(|e| out.extend(e.to_le_bytes())),
        Rows::F64(v) => v.iter().for_each(|e| out.extend(e.to_le_bytes())),
    }
    out
}

fn fill(out: &mut RowsMut<'_>, bytes: &[u8]) {
    match out {
        RowsMut::F16(v) => v.iter_mut().zip(bytes.chunks_exact(2)).for_each(|(o, b)| {
            *o = half::f16::from_bits(u16::from_le_bytes([b[0], b[1]]));
        }),
        RowsMut::BF16(v) => v.iter_mut().zip(bytes.chunks_exact(2)).for_each(|(o, b)| {
            *o = half::bf16::from_bits(u16::from_le_bytes([b[0], b[1]]));
        }),
        RowsMut::F32(v) => v.iter_mut().zip(bytes.chunks_exact(4)).for_each(|(o, b)| {
            *o = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }),
        RowsMut::F64(v) => v.iter_mut().zip(bytes.chunks_exact(8)).for_each(|(o, b)| {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            *o = f64::from_le_bytes(a);
        }),
    }
}

impl CommandVariant {
    /// The variant of a `kind = "command"` declaration (nothing is started yet).
    pub fn new(decl: Declaration, info: VariantInfo) -> CommandVariant {
        CommandVariant {
            info,
            decl,
            inner: Mutex::new(Inner {
                state: State::NotStarted,
                name: String::new(),
                versions: Vec::new(),
                status: SourceStatus::NotStarted,
            }),
        }
    }

    fn argv(&self) -> (&[String], f64) {
        match &self.decl.access {
            Access::Command { command, timeout_s } => (command.as_slice(), *timeout_s),
            Access::Library { .. } => (&[][..], 0.0),
        }
    }

    fn error(&self, message: String) -> VariantError {
        VariantError::Backend {
            variant: self.info.id.to_string(),
            message,
        }
    }

    /// Start the program and say hello; the peer, or the error to record.
    fn start(&self, inner: &mut Inner) -> Result<Box<Peer>, VariantError> {
        let (argv, timeout_s) = self.argv();
        let shown = argv.join(" ");
        let base = self.decl.base_dir();
        let program = PathBuf::from(&argv[0]);
        // A program path with a folder in it is relative to the declaring file's
        // folder; made absolute here, since the child starts in that folder.
        let program = if program.is_relative() && argv[0].contains('/') {
            std::env::current_dir()
                .unwrap_or_default()
                .join(&base)
                .join(program)
        } else {
            program
        };
        let mut child = Command::new(&program)
            .args(&argv[1..])
            .current_dir(&base)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| {
                self.error(format!(
                    "cannot start `{shown}` (declared in {}, run in {}): {e}",
                    self.decl.declared_in.display(),
                    base.display()
                ))
            })?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(self.error(format!("cannot open the pipes of `{shown}`")));
        };
        let (wtx, wrx) = mpsc::channel::<Vec<u8>>();
        let (rtx, rrx) = mpsc::channel();
        std::thread::spawn(move || write_requests(stdin, wrx));
        std::thread::spawn(move || read_replies(stdout, rtx));
        let mut peer = Box::new(Peer {
            child,
            to_writer: Some(wtx),
            from_reader: rrx,
        });
        let hello = json!({
            "op": "hello",
            "protocol": PROTOCOL,
            "id": self.info.id,
            "function": self.info.function.name(),
        });
        let reply = self.exchange(&mut peer, "hello", &hello, Vec::new(), timeout_s)?;
        let h = &reply.header;
        if h.get("ok").and_then(Value::as_bool) != Some(true) {
            let message = h
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("(no `error` given)")
                .to_string();
            if h.get("unavailable").and_then(Value::as_bool) == Some(true) {
                stop(&mut peer);
                inner.status = SourceStatus::Unavailable(message.clone());
                return Err(VariantError::Unavailable {
                    variant: self.info.id.to_string(),
                    message,
                });
            }
            stop(&mut peer);
            return Err(self.error(format!("hello answered ok:false: {message}")));
        }
        inner.name = h
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if let Some(v) = h.get("versions").and_then(Value::as_object) {
            inner.versions = v
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().map_or(v.to_string(), str::to_string)))
                .collect();
        }
        Ok(peer)
    }

    /// Send one request and wait for its reply, at most `timeout_s`. Any failure
    /// kills the program and is returned for recording.
    fn exchange(
        &self,
        peer: &mut Peer,
        op: &str,
        header: &Value,
        payload: Vec<u8>,
        timeout_s: f64,
    ) -> Result<Reply, VariantError> {
        let mut msg = header.to_string().into_bytes();
        msg.push(b'\n');
        msg.extend(payload);
        let sent = peer.to_writer.as_ref().is_some_and(|w| w.send(msg).is_ok());
        let got = if sent {
            peer.from_reader
                .recv_timeout(Duration::try_from_secs_f64(timeout_s).unwrap_or(Duration::MAX))
        } else {
            Err(RecvTimeoutError::Disconnected)
        };
        let failure = match got {
            Ok(Ok(reply)) => return Ok(reply),
            Err(RecvTimeoutError::Timeout) => {
                format!(
                    "no reply to `{op}` within timeout_s = {timeout_s} s: the program was killed"
                )
            }
            Ok(Err(ReadFail::Eof)) | Err(RecvTimeoutError::Disconnected) => {
                let _ = peer.child.kill();
                let how = peer
                    .child
                    .wait()
                    .map_or("its status is unknown".to_string(), |s| s.to_string());
                format!("the program exited ({how}) before replying to `{op}`: expected a JSON reply line")
            }
            Ok(Err(ReadFail::NotJson(line))) => format!(
                "the reply to `{op}` is not a JSON object on one line: expected \
                 {{\"ok\":...}}, got '{line}'"
            ),
            Ok(Err(ReadFail::Short { announced, got })) => format!(
                "short reply to `{op}`: it announced {announced} bytes and sent {got} before \
                 closing its output"
            ),
            Ok(Err(ReadFail::Io(e))) => format!("cannot read the reply to `{op}`: {e}"),
        };
        stop(peer);
        Err(self.error(failure))
    }

    /// Run `body` on the running program, starting it first; record failures.
    fn with_peer<T>(
        &self,
        body: impl FnOnce(&Self, &mut Peer, f64) -> Result<T, VariantError>,
    ) -> Result<T, VariantError> {
        let mut inner = self
            .inner
            .lock()
            .map_err(|_| self.error("an earlier call panicked".into()))?;
        let inner = &mut *inner;
        if let State::Stopped(e) = &inner.state {
            return Err(e.clone());
        }
        if matches!(inner.state, State::NotStarted) {
            match self.start(inner) {
                Ok(p) => {
                    inner.state = State::Running(p);
                    inner.status = SourceStatus::Ok;
                }
                Err(e) => {
                    if !matches!(e, VariantError::Unavailable { .. }) {
                        inner.status = SourceStatus::Failed(message_of(&e));
                    }
                    inner.state = State::Stopped(e.clone());
                    return Err(e);
                }
            }
        }
        let State::Running(peer) = &mut inner.state else {
            return Err(self.error("the program is not running".into()));
        };
        let (_, timeout_s) = self.argv();
        match body(self, peer, timeout_s) {
            Ok(v) => Ok(v),
            Err(e) => {
                if let State::Running(p) = &mut inner.state {
                    stop(p);
                }
                inner.status = SourceStatus::Failed(message_of(&e));
                inner.state = State::Stopped(e.clone());
                Err(e)
            }
        }
    }

    /// A forward or backward call: header, payload, the reply's bytes checked.
    fn call(
        &self,
        op: &str,
        dtype: DType,
        len: usize,
        n: usize,
        opts: &Options,
        payload: Vec<u8>,
    ) -> Result<Vec<u8>, VariantError> {
        let header = json!({
            "op": op,
            "function": self.info.function.name(),
            "dtype": dtype.name(),
            "rows": len / n,
            "n": n,
            "temperature": opts.temperature,
        });
        let expected = len * dtype.size_bytes();
        self.with_peer(|me, peer, timeout_s| {
            let reply = me.exchange(peer, op, &header, payload, timeout_s)?;
            let h = &reply.header;
            match h.get("ok").and_then(Value::as_bool) {
                Some(true) => {}
                Some(false) => {
                    let e = h
                        .get("error")
                        .and_then(Value::as_str)
                        .unwrap_or("(no `error` given)");
                    return Err(me.error(format!("`{op}` answered ok:false: {e}")));
                }
                None => {
                    return Err(me.error(format!(
                        "the reply to `{op}` lacks `ok` (true or false): got {h}"
                    )))
                }
            }
            let Some(bytes) = h.get("bytes").and_then(Value::as_u64) else {
                return Err(me.error(format!(
                    "the reply to `{op}` lacks `bytes` (a whole number): got {h}"
                )));
            };
            if bytes as usize != expected {
                return Err(me.error(format!(
                    "wrong length: the reply to `{op}` has {bytes} bytes, expected {expected} \
                     (rows {} × n {n} × {} bytes of {})",
                    len / n,
                    dtype.size_bytes(),
                    dtype.name()
                )));
            }
            Ok(reply.bytes)
        })
    }
}

fn message_of(e: &VariantError) -> String {
    match e {
        VariantError::Backend { message, .. } | VariantError::Unavailable { message, .. } => {
            message.clone()
        }
        other => other.to_string(),
    }
}

/// Kill the program (a no-op once it has exited) and reap it.
fn stop(peer: &mut Peer) {
    peer.to_writer = None;
    let _ = peer.child.kill();
    let _ = peer.child.wait();
}

impl Drop for CommandVariant {
    fn drop(&mut self) {
        let Ok(inner) = self.inner.get_mut() else {
            return;
        };
        if let State::Running(peer) = &mut inner.state {
            // bye, then EOF; the program's exit closes its output, which the reader
            // reports. A program that ignores both is killed after a second.
            if let Some(w) = peer.to_writer.take() {
                let _ = w.send(b"{\"op\":\"bye\"}\n".to_vec());
            }
            let _ = peer.from_reader.recv_timeout(Duration::from_secs(1));
            stop(peer);
        }
    }
}

impl Variant for CommandVariant {
    fn info(&self) -> &VariantInfo {
        &self.info
    }

    fn forward(
        &self,
        x: Rows<'_>,
        n: usize,
        opts: &Options,
        mut out: RowsMut<'_>,
    ) -> Result<(), VariantError> {
        check_call(
            &self.info,
            &x,
            &[("output", out.dtype(), out.len())],
            n,
            opts,
        )?;
        let bytes = self.call("forward", x.dtype(), x.len(), n, opts, bytes_of(&x))?;
        fill(&mut out, &bytes);
        Ok(())
    }

    fn backward(
        &self,
        x: Rows<'_>,
        y: Rows<'_>,
        dy: Rows<'_>,
        n: usize,
        opts: &Options,
        mut dx: RowsMut<'_>,
    ) -> Result<(), VariantError> {
        crate::check_backward(&self.info, &x, &y, &dy, &dx, n, opts)?;
        let mut payload = bytes_of(&x);
        payload.extend(bytes_of(&y));
        payload.extend(bytes_of(&dy));
        let bytes = self.call("backward", x.dtype(), x.len(), n, opts, payload)?;
        fill(&mut dx, &bytes);
        Ok(())
    }

    fn self_timed(
        &self,
        direction: Direction,
        x: Rows<'_>,
        dy: Rows<'_>,
        n: usize,
        opts: &Options,
        samples: usize,
        reps: usize,
    ) -> Option<Result<Vec<f64>, VariantError>> {
        if direction == Direction::Backward && !self.info.has_backward {
            return Some(Err(VariantError::NoBackward(self.info.id.to_string())));
        }
        if let Err(e) = check_call(&self.info, &x, &[("dy", dy.dtype(), dy.len())], n, opts) {
            return Some(Err(e));
        }
        let (samples, reps) = (samples.max(1), reps.max(1));
        let header = json!({
            "op": "time",
            "direction": direction.name(),
            "function": self.info.function.name(),
            "dtype": x.dtype().name(),
            "rows": x.len() / n,
            "n": n,
            "temperature": opts.temperature,
            "samples": samples,
            "reps": reps,
        });
        let mut payload = bytes_of(&x);
        if direction == Direction::Backward {
            payload.extend(bytes_of(&dy));
        }
        Some(self.with_peer(|me, peer, timeout_s| {
            let reply = me.exchange(peer, "time", &header, payload, timeout_s)?;
            let h = &reply.header;
            if h.get("ok").and_then(Value::as_bool) != Some(true) {
                let e = h
                    .get("error")
                    .and_then(Value::as_str)
                    .unwrap_or("(no `error` given)");
                return Err(me.error(format!("`time` answered ok:false: {e}")));
            }
            let ns: Option<Vec<f64>> = h.get("sample_ns").and_then(Value::as_array).map(|a| {
                a.iter()
                    .filter_map(Value::as_f64)
                    .filter(|v| v.is_finite() && *v >= 0.0)
                    .collect()
            });
            match ns {
                Some(ns) if ns.len() == samples => {
                    Ok(ns.into_iter().map(|v| v / reps as f64 * 1e-9).collect())
                }
                _ => Err(me.error(format!(
                    "the reply to `time` needs `sample_ns`: {samples} non-negative numbers of \
                     nanoseconds, got {h}"
                ))),
            }
        }))
    }

    fn source(&self) -> Option<Source> {
        let inner = self.inner.lock().ok()?;
        Some(Source {
            kind: "command".into(),
            declared: self.decl.access.declared(),
            name: inner.name.clone(),
            versions: inner.versions.clone(),
            status: inner.status.clone(),
        })
    }
}
