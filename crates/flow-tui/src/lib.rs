//! Flow's terminal clients. [`run`] is the board (`flow tui`): sessions, the three columns of
//! the selected one, task detail and the live in-progress feed, kept current over `/api/ws`.
//! It talks to the server through `flow-client`, which the agent commands (`flow sessions`,
//! `flow claim`, …) share. Like a browser, it knows only the HTTP contract, never the server's
//! internals.

mod app;
mod net;
mod ui;

use std::io::{BufWriter, IsTerminal, Stdout};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{self, Event};
use ratatui::crossterm::{cursor, execute, terminal};
use tokio::sync::mpsc;

use crate::app::{App, Msg};
pub use flow_client::Client;

/// Runs the board until the user quits. The terminal is restored on every way out,
/// including a panic (ratatui's hook).
pub async fn run(client: Client) -> std::io::Result<()> {
    if !std::io::stdout().is_terminal() {
        return Err(std::io::Error::other("flow tui needs a terminal"));
    }
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (requests_tx, requests_rx) = mpsc::unbounded_channel();
    let mut app = App::new(client.url());
    let net = tokio::spawn(net::run(client, tx.clone(), requests_rx));
    let stop = Arc::new(AtomicBool::new(false));
    let input = read_keys(tx.clone(), Arc::clone(&stop));
    let signals = tokio::spawn(quit_on_signal(tx));

    let mut terminal = enter()?;
    let result = loop {
        if let Err(err) = terminal.draw(|frame| ui::draw(frame, &app)) {
            break Err(err);
        }
        let Some(msg) = rx.recv().await else {
            break Ok(());
        };
        // Apply everything already waiting before drawing again: a burst of events costs
        // one frame, not one per event.
        let mut next = Some(msg);
        while let Some(msg) = next {
            for request in app.update(msg) {
                let _ = requests_tx.send(request);
            }
            next = rx.try_recv().ok();
        }
        if app.quit {
            break Ok(());
        }
    };
    drop(terminal);
    restore();
    stop.store(true, Ordering::Relaxed);
    net.abort();
    signals.abort();
    let _ = input.join();
    result
}

/// Frames go through one large buffer, flushed once per frame, so a terminal never shows a
/// half-drawn board.
type Term = Terminal<CrosstermBackend<BufWriter<Stdout>>>;

/// Raw mode and the alternate screen, undone by [`restore`] on every way out, a panic
/// included.
fn enter() -> std::io::Result<Term> {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
    terminal::enable_raw_mode()?;
    if let Err(err) = execute!(std::io::stdout(), terminal::EnterAlternateScreen) {
        restore();
        return Err(err);
    }
    let backend = CrosstermBackend::new(BufWriter::with_capacity(1 << 16, std::io::stdout()));
    Terminal::new(backend).inspect_err(|_| restore())
}

fn restore() {
    let _ = terminal::disable_raw_mode();
    let _ = execute!(
        std::io::stdout(),
        terminal::LeaveAlternateScreen,
        cursor::Show
    );
}

/// A terminal closed under the board, or `kill`, still restores the terminal on the way out.
async fn quit_on_signal(tx: mpsc::UnboundedSender<Msg>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut hup), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
            signal(SignalKind::interrupt()),
        ) else {
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = hup.recv() => {}
            _ = int.recv() => {}
        }
    }
    #[cfg(not(unix))]
    if tokio::signal::ctrl_c().await.is_err() {
        return;
    }
    let _ = tx.send(Msg::Quit);
}

/// Terminal input on its own thread (crossterm's reader blocks), polling so it can stop.
fn read_keys(tx: mpsc::UnboundedSender<Msg>, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            match event::poll(Duration::from_millis(50)) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(_) => return,
            }
            let msg = match event::read() {
                Ok(Event::Key(key)) => Msg::Key(key),
                Ok(Event::Resize(..)) => Msg::Redraw,
                Ok(_) => continue,
                Err(_) => return,
            };
            if tx.send(msg).is_err() {
                return;
            }
        }
    })
}
