//! The desktop window's message log under load: CPU time per frame with 100,000 messages of
//! mixed length in the log (a third over 300 characters, a tenth on several lines, some long
//! URLs, Japanese and English), scrolled to the bottom, in the middle, at the bottom while
//! messages arrive at 50 a second, and the first frame after the window is resized; and memory
//! per logged message.
//!
//! Run: `cargo bench --bench app` (add `-- --messages 200000 --frames 300` to change the load).
//!
//! The window runs headless in this process: egui lays out and tessellates every frame exactly
//! as in the app, hosting a real relay on 127.0.0.1; only the GPU upload is missing, which eframe
//! does on the same thread after `ui`. CPU time is this thread's own, from
//! `CLOCK_THREAD_CPUTIME_ID`, so the relay's threads do not count. Idle CPU and time to the
//! first frame of the real window are measured by `scripts/app-bench.sh` under Xvfb.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use classchat::bridge::{Backend, HostRequest, Recipient};
use classchat::ui::log::{Entry, EntryKind};
use classchat::ui::{App, Lang, Launch, ModeKind, Settings};
use egui::{Event, MouseWheelSource, MouseWheelUnit, RawInput, Rect, TouchPhase, pos2, vec2};

/// The window size the frames are laid out for (the app's default window).
const SCREEN: egui::Vec2 = vec2(1120.0, 720.0);
/// Messages a second while "arriving" is measured.
const ARRIVAL_RATE: f64 = 50.0;
/// Frames a second the bench's clock advances by.
const FPS: f64 = 60.0;
/// The target in the issue: at most this much CPU per frame.
const TARGET_MS: f64 = 4.0;

fn main() {
    let mut messages = 100_000_usize;
    let mut frames = 200_usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().and_then(|v| v.parse().ok());
        match arg.as_str() {
            "--messages" => messages = value().expect("--messages N"),
            "--frames" => frames = value().expect("--frames N"),
            // `cargo bench` passes `--bench`; anything else is a mistake worth hearing about.
            "--bench" => {}
            other => panic!("unknown argument {other}; use --messages N --frames N"),
        }
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let mut window = Window::hosting(&runtime);

    let rss_before = rss_kib();
    let log = window.app.log_mut().expect("hosting has a log");
    for i in 0..messages {
        log.push(entry(i));
    }
    let rss_after = rss_kib();
    let per_message = (rss_after.saturating_sub(rss_before) * 1024) as f64 / messages as f64;
    println!("log: {messages} messages, RSS {rss_before} KiB -> {rss_after} KiB");
    println!("memory per logged message: {per_message:.0} bytes (RSS growth / messages)");

    // Let the layout settle at the bottom, where a new window starts.
    window.frames(20);
    let bottom = window.measure(frames);
    bottom.print("bottom, at rest");
    let bottom_rows = window.visible_rows;
    println!("  rows on screen: #{} .. #{}", bottom_rows.0, bottom_rows.1);

    // Messages arrive at 50 a second (the clock moves 1/60 s a frame) and the log follows.
    let mut next = messages;
    let mut frame = 0_usize;
    let arriving = window.measure_with(frames, |app| {
        frame += 1;
        let due = messages + (frame as f64 * ARRIVAL_RATE / FPS) as usize;
        while next < due {
            app.log_mut().expect("log").push(entry(next));
            next += 1;
        }
    });
    arriving.print("bottom, 50 new messages a second");

    // The first frame after each resize (every row's height is estimated again).
    let mut widths = [SCREEN.x - 160.0, SCREEN.x].into_iter().cycle();
    let mut resize_samples = Vec::with_capacity(frames / 4);
    for _ in 0..(frames / 4).max(10) {
        window.size = vec2(widths.next().unwrap_or(SCREEN.x), SCREEN.y);
        let (_, cpu_ns) = window.frame();
        resize_samples.push(cpu_ns as f64 / 1e6);
        window.frames(3);
    }
    window.size = SCREEN;
    window.frames(5);
    let resized = Summary::of(resize_samples);
    resized.print("first frame after a resize");

    // Scroll half-way up with the mouse wheel, and let the smooth scrolling finish.
    window.scroll_up(window.content_height / 2.0);
    window.frames(120);
    let middle = window.measure(frames);
    middle.print("middle, at rest");
    let (first, last) = window.visible_rows;
    println!("  rows on screen: #{first} .. #{last}");

    let worst = [&bottom, &arriving, &middle, &resized]
        .iter()
        .map(|s| s.p99)
        .fold(0.0, f64::max);
    println!(
        "{}",
        serde_json::json!({
            "bench": "app_log",
            "messages": messages,
            "frames": frames,
            "bytes_per_message": per_message.round(),
            "bottom_ms": bottom.json(),
            "arriving_ms": arriving.json(),
            "middle_ms": middle.json(),
            "resize_first_frame_ms": resized.json(),
            "arrival_rate": ARRIVAL_RATE,
            "bottom_rows": [bottom_rows.0, bottom_rows.1],
            "middle_rows": [first, last],
            "target_ms": TARGET_MS,
            "meets_target": worst <= TARGET_MS,
        })
    );
}

/// A realistic chat line: Japanese and English, a few senders, some private; a third of them
/// over 300 characters, a tenth on several lines, one in eleven with a long URL.
fn entry(i: usize) -> Entry {
    let to = if i.is_multiple_of(7) {
        Recipient::Client("host".to_owned())
    } else {
        Recipient::Everyone
    };
    let mut text = format!(
        "#{i} 第{}問の答えは {} だと思います。Is that right? よろしくお願いします",
        i % 12 + 1,
        i % 97
    );
    if i.is_multiple_of(3) {
        // Over 300 characters: a long question, half Japanese, half English.
        while text.chars().count() <= 320 {
            text.push_str(" 質問です。今日の授業でWebSocketの接続が切れたときの再接続について、");
            text.push_str("how does the client know which messages it missed?");
        }
    }
    if i % 10 == 1 {
        for line in 1..=4 {
            text.push_str(&format!("\n    line {line}: let x{line} = answer({line});"));
        }
    }
    if i % 11 == 2 {
        text.push_str(&format!(
            " 資料: https://example.org/classes/2026/networks/lesson-{}/slides?page={}&highlight=websocket-reconnect-and-resume-explained-in-detail",
            i % 30,
            i % 50
        ));
    }
    Entry::new(
        1_764_400_000_000 + i as u64 * 250,
        EntryKind::Message {
            from: Some(format!("student{}", i % 40)),
            to: Some(to),
            text,
            own: false,
        },
    )
}

/// The app in host mode, driven frame by frame without a display.
struct Window {
    ctx: egui::Context,
    app: App,
    time: f64,
    events: Vec<Event>,
    /// The log's full height in points, from the last frame's scroll area.
    content_height: f32,
    /// The first and last `#N` on screen in the last measured frame.
    visible_rows: (usize, usize),
    /// The window's size for the next frame.
    size: egui::Vec2,
}

impl Window {
    fn hosting(runtime: &tokio::runtime::Runtime) -> Self {
        // No announcement and no journal: the log's own cost is what is measured.
        let launch = Launch::Host(HostRequest {
            port: 0,
            ..HostRequest::default()
        });
        let app = App::new(
            Backend::new(runtime.handle().clone()),
            Settings::for_lang(Lang::Ja),
            Some(launch),
        );
        let mut window = Self {
            ctx: egui::Context::default(),
            app,
            time: 0.0,
            events: vec![Event::PointerMoved(pos2(SCREEN.x / 2.0, SCREEN.y / 2.0))],
            content_height: 0.0,
            visible_rows: (0, 0),
            size: SCREEN,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !(window.app.mode() == ModeKind::Hosting && window.app.log_mut().is_some()) {
            assert!(Instant::now() < deadline, "hosting did not start");
            window.frame();
            std::thread::sleep(Duration::from_millis(10));
        }
        window
    }

    /// Runs one frame: logic, layout and tessellation, as eframe does before painting. Returns
    /// the frame's output and the CPU time of that work alone (the bench's own bookkeeping, a
    /// copy of the shapes for reading the rows on screen, is not counted).
    fn frame(&mut self) -> (egui::FullOutput, u64) {
        self.time += 1.0 / FPS;
        let input = RawInput {
            screen_rect: Some(Rect::from_min_size(pos2(0.0, 0.0), self.size)),
            time: Some(self.time),
            focused: true,
            events: std::mem::take(&mut self.events),
            ..RawInput::default()
        };
        let app = &mut self.app;
        let start = thread_cpu_ns();
        let output = self.ctx.run_ui(input, |ui| {
            app.logic(ui.ctx());
            app.ui(ui);
        });
        let laid_out = thread_cpu_ns();
        let shapes = output.shapes.clone();
        let tessellating = thread_cpu_ns();
        let primitives = self.ctx.tessellate(shapes, output.pixels_per_point);
        let cpu = (laid_out - start) + (thread_cpu_ns() - tessellating);
        std::hint::black_box(primitives);
        (output, cpu)
    }

    fn frames(&mut self, n: usize) {
        for _ in 0..n {
            self.frame();
        }
    }

    /// Times `frames` frames at rest, then notes which rows are on screen.
    fn measure(&mut self, frames: usize) -> Summary {
        let summary = self.measure_with(frames, |_| {});
        let (output, _) = self.frame();
        self.visible_rows = rows_on_screen(&output);
        summary
    }

    /// Times `frames` frames, calling `before` ahead of each (outside the timing).
    fn measure_with(&mut self, frames: usize, mut before: impl FnMut(&mut App)) -> Summary {
        let mut samples = Vec::with_capacity(frames);
        for _ in 0..frames {
            before(&mut self.app);
            let (output, cpu_ns) = self.frame();
            samples.push(cpu_ns as f64 / 1e6);
            self.content_height = content_height(&output).max(self.content_height);
        }
        Summary::of(samples)
    }

    fn scroll_up(&mut self, points: f32) {
        self.events.push(Event::MouseWheel {
            unit: MouseWheelUnit::Point,
            delta: vec2(0.0, points),
            phase: TouchPhase::Move,
            source: MouseWheelSource::Wheel,
            modifiers: egui::Modifiers::NONE,
        });
    }
}

/// Estimates the log's height from the row numbers on screen and the rows' spacing.
fn content_height(output: &egui::FullOutput) -> f32 {
    let rows = texts(output)
        .filter_map(|(y, text)| row_number(&text).map(|n| (y, n)))
        .collect::<Vec<_>>();
    match (rows.first(), rows.last()) {
        (Some(&(y0, n0)), Some(&(y1, n1))) if n1 > n0 => {
            let per_row = (y1 - y0) / (n1 - n0) as f32;
            per_row * (n1 as f32 + 1.0)
        }
        _ => 0.0,
    }
}

fn rows_on_screen(output: &egui::FullOutput) -> (usize, usize) {
    let numbers: Vec<usize> = texts(output).filter_map(|(_, t)| row_number(&t)).collect();
    (
        numbers.iter().copied().min().unwrap_or(0),
        numbers.iter().copied().max().unwrap_or(0),
    )
}

/// Every text shape of a frame, with its top edge.
fn texts(output: &egui::FullOutput) -> impl Iterator<Item = (f32, String)> + '_ {
    output
        .shapes
        .iter()
        .filter_map(|clipped| match &clipped.shape {
            egui::Shape::Text(text) => Some((text.pos.y, text.galley.text().to_owned())),
            _ => None,
        })
}

/// The `#N` a log row's text starts with.
fn row_number(text: &str) -> Option<usize> {
    let rest = &text[text.find('#')? + 1..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// CPU time this thread has used, in nanoseconds (the kernel's precise per-thread clock; the
/// tick-based `/proc` figures move in 4 ms steps here, too coarse for one frame).
fn thread_cpu_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    u64::try_from(t.tv_sec).unwrap_or(0) * 1_000_000_000 + u64::try_from(t.tv_nsec).unwrap_or(0)
}

/// This process's resident memory in KiB.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .expect("/proc/self/status has VmRSS")
}

/// Frame times of one scenario, in milliseconds.
struct Summary {
    p50: f64,
    p99: f64,
    max: f64,
    mean: f64,
}

impl Summary {
    fn of(mut samples: Vec<f64>) -> Self {
        samples.sort_by(f64::total_cmp);
        let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
        Self {
            p50: at(0.50),
            p99: at(0.99),
            max: samples.last().copied().unwrap_or(0.0),
            mean: samples.iter().sum::<f64>() / samples.len() as f64,
        }
    }

    fn print(&self, name: &str) {
        let verdict = if self.p99 <= TARGET_MS {
            "within"
        } else {
            "OVER"
        };
        println!(
            "frame CPU, {name}: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, mean {:.2} ms ({verdict} the {TARGET_MS} ms target at p99)",
            self.p50, self.p99, self.max, self.mean
        );
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({"p50": self.p50, "p99": self.p99, "max": self.max, "mean": self.mean})
    }
}
