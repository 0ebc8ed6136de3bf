//! "Did you mean" for misspelled attribute names and ack modes.

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(above + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

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
            let distance = edit_distance(name, candidate).min(edit_distance(&snake, candidate));
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
