//! `mailcart check` for the mailbox: each step of getting in, in order, with what worked or
//! what failed and why. Stops at the first step that fails.

use super::folders;
use super::net::{
    self, Client, MailStream, greeting, login, resolve, server, starttls, tcp, tls_config,
    tls_handshake, trust_words,
};
use super::session::Session;
use crate::config::{self, AfterHandling, TlsMode};

type Step = (String, Result<String, String>);

/// Check the `[imap]` settings against the server: DNS, TCP, TLS, greeting, login, the
/// mailbox, IDLE, MOVE and the folders mailcart uses, which it creates where they are missing.
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

/// The mailbox and what the server can do with it. Creates the folders mailcart moves mail
/// to when they are missing, as `run` would: a check that only said they "will be created"
/// passed on servers that then refused the name.
async fn inspect(cfg: &config::Imap, s: &mut Session, steps: &mut Vec<Step>) {
    steps.push((
        "layout".into(),
        Ok(format!("folders: {}", s.layout().describe())),
    ));
    let mailbox = match s.folder("mailbox", &cfg.mailbox) {
        Ok(m) => m,
        Err(e) => {
            steps.push(("mailbox".into(), Err(e.to_string())));
            return;
        }
    };
    match s.examine(&mailbox).await {
        Ok(state) => steps.push((
            "mailbox".into(),
            Ok(format!(
                "{} exists: {} message{} (UIDVALIDITY {})",
                folders::shown(&cfg.mailbox, &mailbox),
                state.exists,
                if state.exists == 1 { "" } else { "s" },
                state.uidvalidity
            )),
        )),
        Err(e) => {
            steps.push((
                "mailbox".into(),
                Err(format!(
                    "cannot open {}: {e} (folder names are case-sensitive, except INBOX; check [imap] mailbox)",
                    folders::shown(&cfg.mailbox, &mailbox)
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
        let mut said = Vec::new();
        for (key, logical) in [
            ("processed_folder", &cfg.processed_folder),
            ("needs_human_folder", &cfg.needs_human_folder),
        ] {
            let made = match s.folder(key, logical) {
                Ok(name) => s
                    .ensure_folder(key, &name)
                    .await
                    .map(|created| (name, created)),
                Err(e) => Err(e),
            };
            match made {
                Ok((name, created)) => said.push(format!(
                    "{} {}",
                    folders::shown(logical, &name),
                    if created { "created" } else { "exists" }
                )),
                Err(e) => {
                    steps.push(("folders".into(), Err(e.to_string())));
                    return;
                }
            }
        }
        steps.push(("folders".into(), Ok(said.join("; "))));
    }

    if let Some(sent) = &cfg.sent_folder {
        let step = match s.folder("sent_folder", sent) {
            Err(e) => Err(e.to_string()),
            Ok(name) => match s.folder_exists(&name).await {
                Ok(true) => Ok(format!(
                    "{} exists; sent mail is copied there",
                    folders::shown(sent, &name)
                )),
                Ok(false) => Err(format!(
                    "{} does not exist on {}: create it or fix [imap] sent_folder",
                    folders::shown(sent, &name),
                    server(cfg)
                )),
                Err(e) => Err(format!("listing {}: {e}", folders::shown(sent, &name))),
            },
        };
        steps.push(("sent folder".into(), step));
    }
}
