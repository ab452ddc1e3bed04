//! `mailcart check` for the mailbox: each step of getting in, in order, with what worked or
//! what failed and why. Stops at the first step that fails.

use super::net::{
    self, Client, MailStream, greeting, login, resolve, server, starttls, tcp, tls_config,
    tls_handshake, trust_words,
};
use super::session::Session;
use crate::config::{self, AfterHandling, TlsMode};

type Step = (String, Result<String, String>);

/// Check the `[imap]` settings against the server: DNS, TCP, TLS, greeting, login, the
/// mailbox, IDLE, MOVE and the folders mailcart uses. Never changes anything on the server.
pub async fn check(cfg: &config::Imap) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut session = match reach(cfg, &mut steps).await {
        Some(s) => s,
        None => return steps,
    };
    inspect(cfg, &mut session, &mut steps).await;
    session.logout().await;
    steps
}

fn push<T>(
    steps: &mut Vec<Step>,
    name: &str,
    r: Result<T, String>,
    ok: impl FnOnce(T) -> String,
) -> Option<()> {
    match r {
        Ok(v) => {
            steps.push((name.into(), Ok(ok(v))));
            Some(())
        }
        Err(e) => {
            steps.push((name.into(), Err(e)));
            None
        }
    }
}

/// DNS, TCP, TLS, greeting and login, one step each.
async fn reach(cfg: &config::Imap, steps: &mut Vec<Step>) -> Option<Session> {
    let addrs = resolve(cfg).await.map_err(|e| e.to_string());
    let shown = |a: &Vec<std::net::SocketAddr>| {
        let list: Vec<String> = a.iter().map(|a| a.ip().to_string()).collect();
        format!("{} resolves to {}", cfg.host, list.join(", "))
    };
    let addrs = match addrs {
        Ok(a) => {
            steps.push(("dns".into(), Ok(shown(&a))));
            a
        }
        Err(e) => {
            steps.push(("dns".into(), Err(e)));
            return None;
        }
    };

    let (stream, addr) = match tcp(cfg, &addrs).await {
        Ok(v) => v,
        Err(e) => {
            steps.push(("tcp".into(), Err(e.to_string())));
            return None;
        }
    };
    steps.push(("tcp".into(), Ok(format!("connected to {addr}"))));

    let trust = trust_words(cfg);
    let (client, how) = match cfg.tls {
        TlsMode::None => {
            steps.push((
                "tls".into(),
                Ok("not used: tls = \"none\" (allowed on loopback only); the password crosses in clear text".into()),
            ));
            let mut client = Client::new(MailStream::Plain(stream));
            let hello = greeting(cfg, &mut client).await.map_err(|e| e.to_string());
            push(steps, "greeting", hello, |g| greeting_words(&g))?;
            (client, format!("{addr}, no TLS"))
        }
        TlsMode::Tls => {
            let tls = tls_config(cfg).map_err(|e| e.to_string());
            let tls = match tls {
                Ok(t) => t,
                Err(e) => {
                    steps.push(("tls".into(), Err(e)));
                    return None;
                }
            };
            let shake = tls_handshake(cfg, tls, stream)
                .await
                .map_err(|e| e.to_string());
            let (stream, version) = match shake {
                Ok(v) => v,
                Err(e) => {
                    steps.push(("tls".into(), Err(e)));
                    return None;
                }
            };
            steps.push((
                "tls".into(),
                Ok(format!(
                    "{version} with {}; certificate trusted ({trust})",
                    cfg.host
                )),
            ));
            let mut client = Client::new(MailStream::Tls(Box::new(stream)));
            let hello = greeting(cfg, &mut client).await.map_err(|e| e.to_string());
            push(steps, "greeting", hello, |g| greeting_words(&g))?;
            (client, format!("{addr}, {version}"))
        }
        TlsMode::Starttls => {
            let tls = match tls_config(cfg) {
                Ok(t) => t,
                Err(e) => {
                    steps.push(("tls".into(), Err(e.to_string())));
                    return None;
                }
            };
            let mut client = Client::new(MailStream::Plain(stream));
            let hello = match greeting(cfg, &mut client).await {
                Ok(g) => g,
                Err(e) => {
                    steps.push(("greeting".into(), Err(e.to_string())));
                    return None;
                }
            };
            steps.push(("greeting".into(), Ok(greeting_words(&hello))));
            let plain = match starttls(cfg, client, hello.caps.as_ref()).await {
                Ok(p) => p,
                Err(e) => {
                    steps.push(("tls".into(), Err(e.to_string())));
                    return None;
                }
            };
            let (stream, version) = match tls_handshake(cfg, tls, plain).await {
                Ok(v) => v,
                Err(e) => {
                    steps.push(("tls".into(), Err(e.to_string())));
                    return None;
                }
            };
            steps.push((
                "tls".into(),
                Ok(format!(
                    "STARTTLS, then {version} with {}; certificate trusted ({trust})",
                    cfg.host
                )),
            ));
            (
                Client::new(MailStream::Tls(Box::new(stream))),
                format!("{addr}, STARTTLS, {version}"),
            )
        }
    };

    match login(cfg, client, how).await {
        Ok(s) => {
            steps.push((
                "login".into(),
                Ok(format!("logged in as {}", cfg.login.username)),
            ));
            Some(s)
        }
        Err(e) => {
            steps.push(("login".into(), Err(e.to_string())));
            None
        }
    }
}

fn greeting_words(g: &net::Greeting) -> String {
    if g.text.is_empty() {
        "the server said hello".into()
    } else {
        format!("the server said {:?}", g.text)
    }
}

/// The mailbox and what the server can do with it; read-only.
async fn inspect(cfg: &config::Imap, s: &mut Session, steps: &mut Vec<Step>) {
    match s.examine(&cfg.mailbox).await {
        Ok(state) => steps.push((
            "mailbox".into(),
            Ok(format!(
                "{:?} exists: {} message{} (UIDVALIDITY {})",
                cfg.mailbox,
                state.exists,
                if state.exists == 1 { "" } else { "s" },
                state.uidvalidity
            )),
        )),
        Err(e) => {
            steps.push((
                "mailbox".into(),
                Err(format!(
                    "cannot open {:?}: {e} (folder names are case-sensitive, except INBOX; hierarchy levels use the server's separator)",
                    cfg.mailbox
                )),
            ));
            return;
        }
    }

    steps.push((
        "idle".into(),
        Ok(if s.has("IDLE") {
            format!(
                "IDLE supported: new mail is taken as it arrives (IDLE renewed every {} min)",
                cfg.idle_minutes
            )
        } else {
            format!(
                "IDLE not offered: the mailbox will be checked every {} s ([imap] poll_seconds)",
                cfg.poll_seconds
            )
        }),
    ));

    let moving = if s.has("MOVE") {
        "MOVE supported".to_string()
    } else if s.has("UIDPLUS") {
        "no MOVE: messages are copied, flagged \\Deleted and removed with UID EXPUNGE".to_string()
    } else {
        "no MOVE and no UIDPLUS: messages are copied, flagged \\Deleted and removed with EXPUNGE, which also removes any other message flagged \\Deleted in the mailbox".to_string()
    };
    steps.push((
        "move".into(),
        Ok(match cfg.after {
            AfterHandling::Move => format!(
                "{moving}; processed mail goes to {:?}, mail for a person to {:?}",
                cfg.processed_folder, cfg.needs_human_folder
            ),
            AfterHandling::Seen => format!(
                "{moving} (not needed: after = \"seen\" flags processed mail \\Seen where it is)"
            ),
        }),
    ));

    if cfg.after == AfterHandling::Move {
        let mut missing = Vec::new();
        for f in [&cfg.processed_folder, &cfg.needs_human_folder] {
            match s.folder_exists(f).await {
                Ok(true) => {}
                Ok(false) => missing.push(format!("{f:?}")),
                Err(e) => {
                    steps.push(("folders".into(), Err(format!("listing {f:?}: {e}"))));
                    return;
                }
            }
        }
        steps.push((
            "folders".into(),
            Ok(if missing.is_empty() {
                format!(
                    "{:?} and {:?} exist",
                    cfg.processed_folder, cfg.needs_human_folder
                )
            } else {
                format!("{} will be created on the first run", missing.join(" and "))
            }),
        ));
    }

    if let Some(sent) = &cfg.sent_folder {
        let step = match s.folder_exists(sent).await {
            Ok(true) => Ok(format!("{sent:?} exists; sent mail is copied there")),
            Ok(false) => Err(format!(
                "{sent:?} does not exist on {}: create it or fix [imap] sent_folder",
                server(cfg)
            )),
            Err(e) => Err(format!("listing {sent:?}: {e}")),
        };
        steps.push(("sent folder".into(), step));
    }
}
