//! The rates of a sweep: `--rates R1,R2,...` or `--rates FROM:TO:STEPS`.

use crate::error::LoadgenError;

/// Parses a sweep's rate list. `FROM:TO:STEPS` gives `STEPS` rates evenly
/// spaced from `FROM` to `TO` inclusive (`1000:5000:5` → 1000, 2000, ...,
/// 5000); a comma list is taken as is. Every rate must be a positive number;
/// rates need not be sorted.
pub fn parse_rates(text: &str) -> Result<Vec<f64>, LoadgenError> {
    let bad = |why: String| LoadgenError::Usage(format!("--rates {text:?}: {why}"));
    let number = |s: &str| -> Result<f64, LoadgenError> {
        let v: f64 = s
            .trim()
            .parse()
            .map_err(|_| bad(format!("{s:?} is not a number")))?;
        if v.is_finite() && v > 0.0 {
            Ok(v)
        } else {
            Err(bad(format!("rate {s:?} must be positive")))
        }
    };
    let parts: Vec<&str> = text.split(':').collect();
    let rates = match parts.as_slice() {
        [from, to, steps] => {
            let (from, to) = (number(from)?, number(to)?);
            let steps: usize = steps
                .trim()
                .parse()
                .map_err(|_| bad(format!("steps {steps:?} is not a whole number")))?;
            if steps == 0 || steps > 10_000 {
                return Err(bad("steps must be 1..=10000".into()));
            }
            if steps == 1 {
                vec![from]
            } else {
                (0..steps)
                    .map(|i| from + (to - from) * i as f64 / (steps - 1) as f64)
                    .collect()
            }
        }
        [_] => text
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(number)
            .collect::<Result<Vec<_>, _>>()?,
        _ => return Err(bad("expected R1,R2,... or FROM:TO:STEPS".into())),
    };
    if rates.is_empty() {
        return Err(bad("no rates".into()));
    }
    Ok(rates)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_ranges() {
        assert_eq!(
            parse_rates("100,200.5, 300").unwrap(),
            vec![100.0, 200.5, 300.0]
        );
        assert_eq!(
            parse_rates("1000:5000:5").unwrap(),
            vec![1000.0, 2000.0, 3000.0, 4000.0, 5000.0]
        );
        assert_eq!(parse_rates("10:20:1").unwrap(), vec![10.0]);
        assert_eq!(parse_rates("500:100:3").unwrap(), vec![500.0, 300.0, 100.0]);
    }

    #[test]
    fn garbage_is_an_error() {
        for bad in [
            "", ",", "a", "0", "-5", "1:2", "1:2:0", "1:2:x", "1:2:3:4", "nan",
        ] {
            assert!(parse_rates(bad).is_err(), "{bad:?}");
        }
    }
}
