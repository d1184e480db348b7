//! Phone numbers, validated and stored in one normal form (`+<digits>`).

use crate::error::AppError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    /// Accepts the ways people write numbers in Uzbekistan and around
    /// (`+998 90 123-45-67`, `(90) 123 45 67`, `998901234567`, `8 371 …`)
    /// and any international number in `+` form with 8 to 15 digits.
    pub fn parse(input: &str) -> Result<Phone, AppError> {
        let s = input.trim();
        let plus = s.starts_with('+');
        if !s.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c)) || s.matches('+').count() > usize::from(plus) {
            return Err(AppError::invalid("phone", "validation.phone"));
        }
        let digits: String = s.chars().filter(char::is_ascii_digit).collect();
        let normal = if plus {
            digits
        } else if digits.len() == 9 {
            format!("998{digits}")
        } else if digits.len() == 12 && digits.starts_with("998") {
            digits
        } else {
            return Err(AppError::invalid("phone", "validation.phone"));
        };
        if !(8..=15).contains(&normal.len()) || (normal.starts_with("998") && normal.len() != 12) {
            return Err(AppError::invalid("phone", "validation.phone"));
        }
        Ok(Phone(format!("+{normal}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_local_and_international_forms() {
        for (input, want) in [
            ("+998 90 123-45-67", "+998901234567"),
            ("(90) 123 45 67", "+998901234567"),
            ("998901234567", "+998901234567"),
            ("+7 701 123 45 67", "+77011234567"),
        ] {
            assert_eq!(Phone::parse(input).unwrap().as_str(), want, "{input}");
        }
        for bad in ["12345", "+998 90 123", "phone", "+1+2345678901", ""] {
            assert!(Phone::parse(bad).is_err(), "{bad}");
        }
    }
}
