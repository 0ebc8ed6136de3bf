//! "Did you mean" for misspelled attribute names and ack modes.

/// `groupId` → `group_id`, `topic-pattern` → `topic_pattern`: Spring users write camelCase.
fn to_snake_case(name: &str) -> String {
    let mut snake = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            if !snake.is_empty() {
                snake.push('_');
            }
            snake.push(c.to_ascii_lowercase());
        } else if c == '-' {
            snake.push('_');
        } else {
            snake.push(c);
        }
    }
    snake
}

/// The candidate closest to `name`, if it is close enough to be what the user meant.
pub(crate) fn closest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let snake = to_snake_case(name);
    candidates
        .iter()
        .map(|candidate| {
            // As written (`MANUAL_IMEDIATE`) and as snake case (`groupId` → `group_id`).
            let distance =
                strsim::levenshtein(name, candidate).min(strsim::levenshtein(&snake, candidate));
            let prefix = candidate.starts_with(snake.as_str()) || snake.starts_with(candidate);
            // A prefix counts as close; ties go to the smaller real distance.
            let effective = if prefix { distance.min(1) } else { distance };
            (effective, distance, *candidate)
        })
        .filter(|(effective, _, candidate)| *effective <= candidate.len() / 3 + 1)
        .min()
        .map(|(_, _, candidate)| candidate)
}

/// ` (did you mean `x`?)` or nothing.
pub(crate) fn did_you_mean(name: &str, candidates: &[&str]) -> String {
    closest(name, candidates)
        .map(|c| format!("; did you mean `{c}`?"))
        .unwrap_or_default()
}
