//! SMPTE timecode `HH:MM:SS:FF` at a clip's frame rate; drop-frame (`HH:MM:SS;FF`) for the
//! NTSC rates 29.97 and 59.94, where frame numbers 0 and 1 (0-3 at 59.94) are skipped at the
//! start of every minute except each tenth, so the display keeps up with the wall clock.

/// A frame rate as the exact ratio `num / den`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Numerator.
    pub num: u32,
    /// Denominator.
    pub den: u32,
}

impl Rate {
    /// Frames per second.
    pub fn fps(self) -> f64 {
        f64::from(self.num) / f64::from(self.den.max(1))
    }

    /// Whole frames per timecode second (30 for 29.97).
    fn nominal(self) -> u64 {
        self.fps().round().max(1.0) as u64
    }

    /// Frame numbers dropped per minute: 2 at 29.97, 4 at 59.94, else 0.
    fn dropped(self) -> u64 {
        if self.den == 1001 && self.num % 30_000 == 0 {
            2 * u64::from(self.num / 30_000)
        } else {
            0
        }
    }

    /// The frame shown at `t` seconds.
    pub fn frame_at(self, t: f64) -> u64 {
        (t.max(0.0) * self.fps() + 1e-6).floor() as u64
    }

    /// Timecode of frame `frame`.
    pub fn timecode(self, frame: u64) -> String {
        let nominal = self.nominal();
        let drop = self.dropped();
        let mut f = frame;
        if drop > 0 {
            let per_10min = nominal * 600 - 9 * drop;
            let per_min = nominal * 60 - drop;
            let tens = f / per_10min;
            let rest = f % per_10min;
            f += 9 * drop * tens;
            if rest > drop {
                f += drop * ((rest - drop) / per_min);
            }
        }
        let ff = f % nominal;
        let s = f / nominal;
        let sep = if drop > 0 { ';' } else { ':' };
        format!(
            "{:02}:{:02}:{:02}{sep}{:02}",
            s / 3600,
            (s / 60) % 60,
            s % 60,
            ff
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_drop_and_drop_frame() {
        let r25 = Rate { num: 25, den: 1 };
        assert_eq!(r25.timecode(0), "00:00:00:00");
        assert_eq!(r25.timecode(25 * 3661 + 7), "01:01:01:07");
        let df = Rate {
            num: 30_000,
            den: 1001,
        };
        assert_eq!(df.timecode(1799), "00:00:59;29");
        assert_eq!(
            df.timecode(1800),
            "00:01:00;02",
            "frames 0 and 1 are skipped"
        );
        assert_eq!(
            df.timecode(17_982),
            "00:10:00;00",
            "not at the tenth minute"
        );
        assert_eq!(df.timecode(107_892), "01:00:00;00");
        let df60 = Rate {
            num: 60_000,
            den: 1001,
        };
        assert_eq!(df60.timecode(3600), "00:01:00;04");
        let film = Rate {
            num: 24_000,
            den: 1001,
        };
        assert_eq!(film.timecode(24), "00:00:01:00", "23.976 has no drop-frame");
        assert_eq!(r25.frame_at(1.0), 25);
        assert_eq!(df.frame_at(1.0), 29);
    }
}
