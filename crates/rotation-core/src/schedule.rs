//! How often Secrets Manager rotates a secret, from DescribeSecret's `RotationRules`: what
//! anything published from a rotation (a key set verifiers cache) can derive its lifetime from.

use std::time::Duration;

/// `RotationRules` as DescribeSecret returns them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RotationRules {
    pub automatically_after_days: Option<u64>,
    pub schedule_expression: Option<String>,
}

impl RotationRules {
    /// The time between rotations: a `rate()` expression's, else the days; `None` for a
    /// `cron()` expression (its gaps vary) or a secret without rules.
    pub fn interval(&self) -> Option<Duration> {
        match &self.schedule_expression {
            Some(expression) => rate(expression),
            None => self
                .automatically_after_days
                .map(|days| Duration::from_secs(days.saturating_mul(86_400))),
        }
    }
}

/// `rate(4 hours)`, `rate(1 day)`, `rate(30 days)`: the forms Secrets Manager accepts.
fn rate(expression: &str) -> Option<Duration> {
    let inner = expression.trim().strip_prefix("rate(")?.strip_suffix(')')?;
    let (count, unit) = inner.trim().split_once(' ')?;
    let count: u64 = count.parse().ok()?;
    let seconds = match unit.trim() {
        "hour" | "hours" => 3_600,
        "day" | "days" => 86_400,
        _ => return None,
    };
    count.checked_mul(seconds).map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(days: Option<u64>, expression: Option<&str>) -> RotationRules {
        RotationRules {
            automatically_after_days: days,
            schedule_expression: expression.map(str::to_owned),
        }
    }

    #[test]
    fn the_interval_comes_from_the_days_or_a_rate() {
        let day = Duration::from_secs(86_400);
        assert_eq!(rules(Some(30), None).interval(), Some(30 * day));
        assert_eq!(
            rules(None, Some("rate(10 days)")).interval(),
            Some(10 * day)
        );
        assert_eq!(
            rules(Some(30), Some("rate(4 hours)")).interval(),
            Some(Duration::from_secs(4 * 3_600)),
            "the expression is what Secrets Manager follows"
        );
        assert_eq!(rules(None, Some("rate(1 day)")).interval(), Some(day));
    }

    #[test]
    fn a_cron_schedule_or_none_has_no_single_interval() {
        assert_eq!(rules(None, Some("cron(0 4 ? * SUN *)")).interval(), None);
        assert_eq!(rules(None, Some("rate(2 weeks)")).interval(), None);
        assert_eq!(rules(None, None).interval(), None);
    }
}
