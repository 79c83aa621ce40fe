//! The classroom in the window: the host's controls (the raised-hands queue first, with a
//! pulsing badge when a new hand goes up; the room's modes; the poll builder, the live bar chart
//! and the result; the pin) and the student's strip above the log (the pinned banner, the hand
//! button and the poll card). The state is [`Classroom`](super::classroom::Classroom); every
//! button pushes a [`Command::Classroom`].

use super::classroom::{Action, Classroom, Poll};
use super::command::Command;
use super::i18n::Lang;
use super::state::Chat;
use crate::bridge::{MAX_POLL_OPTIONS, MIN_POLL_OPTIONS, RoomModes, now_ms};

/// Width of the longest bar in the poll chart.
const BAR_WIDTH: f32 = 160.0;

/// The host's controls below the hands queue: modes, poll, pin. Inside a side panel.
pub fn controls_ui(ui: &mut egui::Ui, lang: Lang, chat: &mut Chat, commands: &mut Vec<Command>) {
    let classroom = &mut chat.classroom;
    ui.add_space(6.0);
    modes_ui(ui, lang, classroom.modes, commands);
    ui.separator();
    poll_host_ui(ui, lang, classroom, commands);
    ui.separator();
    pin_ui(ui, lang, classroom, commands);
    ui.add_space(6.0);
}

/// A joined host's controls as a left panel: the hands queue, then modes, poll and pin
/// (hosting shows them in the host panel's class controls tab).
pub fn host_panel_ui(ui: &mut egui::Ui, lang: Lang, chat: &mut Chat, commands: &mut Vec<Command>) {
    egui::Panel::left("classroom_host")
        .resizable(true)
        .default_size(260.0)
        .show(ui, |ui| {
            ui.add_space(6.0);
            ui.heading(lang.s().host_controls);
            hands_ui(ui, lang, &chat.classroom, commands);
            ui.separator();
            egui::ScrollArea::vertical().show(ui, |ui| controls_ui(ui, lang, chat, commands));
        });
}

/// Most height the hands queue takes before it scrolls.
const MAX_HANDS_HEIGHT: f32 = 220.0;

/// The raised hands, oldest first, each with its waiting time and a Lower button. While a new
/// hand is fresh the badge pulses (no sound).
pub fn hands_ui(ui: &mut egui::Ui, lang: Lang, classroom: &Classroom, commands: &mut Vec<Command>) {
    let s = lang.s();
    let count = classroom.hands.len();
    ui.add_space(4.0);
    if count == 0 {
        ui.heading(s.hands_title);
        ui.label(egui::RichText::new(s.no_hands).weak());
        return;
    }
    let warm = egui::Color32::from_rgb(234, 88, 12);
    let alpha = match classroom.new_hand_at.filter(|_| classroom.hand_cue()) {
        Some(at) => {
            // Pulse for a few seconds, then stay lit; repaint only while it pulses.
            ui.ctx().request_repaint();
            let phase = at.elapsed().as_secs_f32() * std::f32::consts::TAU / 1.2;
            0.8 + 0.2 * phase.cos()
        }
        None => 1.0,
    };
    egui::Frame::new()
        .fill(warm.gamma_multiply(alpha))
        .corner_radius(8.0)
        .inner_margin(egui::Margin::symmetric(10, 6))
        .show(ui, |ui| {
            let text = egui::RichText::new(lang.hands_up(count))
                .size(20.0)
                .strong()
                .color(egui::Color32::WHITE);
            ui.label(text);
        });
    ui.add_space(4.0);
    let now = now_ms();
    egui::ScrollArea::vertical()
        .id_salt("hands")
        .max_height(MAX_HANDS_HEIGHT)
        .show(ui, |ui| {
            for hand in &classroom.hands {
                ui.horizontal(|ui| {
                    ui.label(egui::RichText::new(&hand.id).size(17.0).strong());
                    let waited = now.saturating_sub(hand.since) / 1000;
                    ui.label(egui::RichText::new(lang.waiting(waited)).weak());
                    if ui.small_button(s.lower_hand).clicked() {
                        commands.push(Command::Classroom(Action::LowerHand(hand.id.clone())));
                    }
                });
            }
        });
    // The waiting times count up.
    ui.ctx()
        .request_repaint_after(std::time::Duration::from_secs(1));
}

/// The two room modes as toggles; the relay's answer (not the click) changes them.
fn modes_ui(ui: &mut egui::Ui, lang: Lang, modes: RoomModes, commands: &mut Vec<Command>) {
    let s = lang.s();
    ui.heading(s.modes_title);
    let mut broadcast = modes.student_broadcast;
    if ui.checkbox(&mut broadcast, s.mode_broadcast).changed() {
        let modes = RoomModes {
            student_broadcast: broadcast,
            ..modes
        };
        commands.push(Command::Classroom(Action::SetModes(modes)));
    }
    let mut private = modes.student_private;
    if ui.checkbox(&mut private, s.mode_private).changed() {
        let modes = RoomModes {
            student_private: private,
            ..modes
        };
        commands.push(Command::Classroom(Action::SetModes(modes)));
    }
}

/// The open poll with its live chart and Close, or the last result; then the builder.
fn poll_host_ui(
    ui: &mut egui::Ui,
    lang: Lang,
    classroom: &mut Classroom,
    commands: &mut Vec<Command>,
) {
    let s = lang.s();
    ui.heading(s.poll_title);
    if let Some(poll) = &classroom.poll {
        chart_ui(ui, lang, poll);
        if !poll.closed {
            if let Some(voters) = poll.voters {
                ui.label(lang.voters(voters));
            }
            if ui.button(s.close_poll).clicked() {
                commands.push(Command::Classroom(Action::ClosePoll));
            }
            // One poll at a time: the builder waits until this one closes.
            return;
        }
        ui.add_space(6.0);
    }
    let drafts = &mut classroom.drafts;
    let label = ui.label(s.poll_question);
    let field = egui::TextEdit::singleline(&mut drafts.question).desired_width(f32::INFINITY);
    ui.add(field).labelled_by(label.id);
    for (i, option) in drafts.options.iter_mut().enumerate() {
        ui.horizontal(|ui| {
            let label = ui.label(lang.option_n(i + 1));
            let field = egui::TextEdit::singleline(option).desired_width(f32::INFINITY);
            ui.add(field).labelled_by(label.id);
        });
    }
    ui.horizontal_wrapped(|ui| {
        let more = drafts.options.len() < MAX_POLL_OPTIONS;
        if ui
            .add_enabled(more, egui::Button::new(s.add_option))
            .clicked()
        {
            drafts.options.push(String::new());
        }
        let fewer = drafts.options.len() > MIN_POLL_OPTIONS;
        if ui
            .add_enabled(fewer, egui::Button::new(s.remove_option))
            .clicked()
        {
            drafts.options.pop();
        }
    });
    let ready = drafts.poll().is_some();
    let open = ui.add_enabled(
        ready,
        egui::Button::new(egui::RichText::new(s.open_poll).strong()),
    );
    if open.on_disabled_hover_text(s.poll_needs).clicked() {
        commands.push(Command::Classroom(Action::OpenPoll));
    }
}

/// A poll's votes as a bar chart: one row per answer, its count in words beside the bar.
fn chart_ui(ui: &mut egui::Ui, lang: Lang, poll: &Poll) {
    let s = lang.s();
    let state = if poll.closed {
        s.poll_result
    } else {
        s.poll_open
    };
    ui.label(egui::RichText::new(format!("{state}: {}", poll.question)).strong());
    let max = poll.max_count() as f32;
    let fill = ui.visuals().selection.bg_fill;
    for (i, option) in poll.options.iter().enumerate() {
        let count = poll.count(i);
        let mut text = egui::RichText::new(lang.tally_line(option, count));
        if poll.my_vote == Some(i) {
            text = text.strong();
        }
        ui.label(text);
        let (rect, _) = ui.allocate_exact_size(egui::vec2(BAR_WIDTH, 10.0), egui::Sense::hover());
        let painter = ui.painter();
        painter.rect_filled(rect, 3.0, ui.visuals().faint_bg_color);
        let share = count as f32 / max;
        let bar = egui::Rect::from_min_size(rect.min, egui::vec2(rect.width() * share, 10.0));
        painter.rect_filled(bar, 3.0, fill);
        ui.add_space(2.0);
    }
}

/// The pinned message with Unpin, and a field to pin a new one.
fn pin_ui(ui: &mut egui::Ui, lang: Lang, classroom: &mut Classroom, commands: &mut Vec<Command>) {
    let s = lang.s();
    ui.heading(s.pin_title);
    if !classroom.pinned.is_empty() {
        ui.horizontal_wrapped(|ui| {
            ui.label(egui::RichText::new(&classroom.pinned).strong());
            if ui.small_button(s.unpin).clicked() {
                commands.push(Command::Classroom(Action::Unpin));
            }
        });
    }
    let label = ui.label(s.pin_field);
    let field = egui::TextEdit::multiline(&mut classroom.drafts.pin)
        .desired_rows(2)
        .desired_width(f32::INFINITY);
    ui.add(field).labelled_by(label.id);
    let ready = !classroom.drafts.pin.trim().is_empty();
    if ui.add_enabled(ready, egui::Button::new(s.pin)).clicked() {
        commands.push(Command::Classroom(Action::Pin));
    }
}

/// Above the log: the pinned banner for everyone, and for a student the hand button and the
/// poll card. Nothing at all in a room with nothing pinned, for a host.
pub fn strip_ui(
    ui: &mut egui::Ui,
    lang: Lang,
    chat: &Chat,
    host: bool,
    commands: &mut Vec<Command>,
) {
    let classroom = &chat.classroom;
    // A seed server has no classroom: no hand to raise.
    let student = !host && chat.roster.is_some() && chat.state.connected();
    if classroom.pinned.is_empty() && !student {
        return;
    }
    egui::Panel::top("classroom_strip").show(ui, |ui| {
        ui.add_space(4.0);
        pinned_ui(ui, lang, &classroom.pinned);
        if student {
            hand_button_ui(ui, lang, classroom.hand_up, commands);
            if let Some(poll) = &classroom.poll {
                poll_card_ui(ui, lang, poll, commands);
            }
        }
        ui.add_space(4.0);
    });
}

/// The pinned message, highlighted, when there is one.
fn pinned_ui(ui: &mut egui::Ui, lang: Lang, pinned: &str) {
    if pinned.is_empty() {
        return;
    }
    let accent = egui::Color32::from_rgb(202, 138, 4);
    egui::Frame::new()
        .fill(accent.gamma_multiply(0.18))
        .stroke(egui::Stroke::new(1.0, accent))
        .corner_radius(6.0)
        .inner_margin(8.0)
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.horizontal_wrapped(|ui| {
                ui.label(egui::RichText::new(lang.s().pinned_label).strong());
                let text = egui::RichText::new(pinned)
                    .size(16.0)
                    .color(ui.visuals().strong_text_color());
                ui.add(egui::Label::new(text).selectable(true));
            });
        });
    ui.add_space(4.0);
}

/// Raise or lower the own hand; says when it is up.
fn hand_button_ui(ui: &mut egui::Ui, lang: Lang, up: bool, commands: &mut Vec<Command>) {
    let s = lang.s();
    ui.horizontal(|ui| {
        if up {
            let warm = egui::Color32::from_rgb(234, 88, 12);
            ui.label(egui::RichText::new(s.hand_is_up).strong().color(warm));
            if ui.button(s.lower_my_hand).clicked() {
                commands.push(Command::Classroom(Action::RaiseHand(false)));
            }
        } else if ui
            .button(egui::RichText::new(s.raise_hand).size(16.0))
            .clicked()
        {
            commands.push(Command::Classroom(Action::RaiseHand(true)));
        }
    });
}

/// The poll: a button per answer while it is open (the chosen one selected), the result once
/// it closed.
fn poll_card_ui(ui: &mut egui::Ui, lang: Lang, poll: &Poll, commands: &mut Vec<Command>) {
    let s = lang.s();
    egui::Frame::group(ui.style())
        .corner_radius(6.0)
        .inner_margin(8.0)
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            if poll.closed {
                chart_ui(ui, lang, poll);
                return;
            }
            ui.label(egui::RichText::new(format!("{}: {}", s.poll_title, poll.question)).strong());
            ui.horizontal_wrapped(|ui| {
                for (i, option) in poll.options.iter().enumerate() {
                    let chosen = poll.my_vote == Some(i);
                    let text = egui::RichText::new(option).size(16.0);
                    if ui.add(egui::Button::selectable(chosen, text)).clicked() && !chosen {
                        commands.push(Command::Classroom(Action::Vote(i)));
                    }
                }
            });
            let line = match poll.my_vote.and_then(|i| poll.options.get(i)) {
                Some(option) => format!("{} — {}", lang.you_voted(option), s.vote_changeable),
                None => s.vote_changeable.to_owned(),
            };
            ui.label(egui::RichText::new(line).weak());
        });
}
