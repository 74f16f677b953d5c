//! Placing samples and markers on a stream's time axis as they stream by: position = stream
//! index − first index, so lost samples leave gaps (filled with the previous value) and
//! repeated ones are dropped; markers land on the sample nearest their time.

use epoc_sample::Sample;

use super::SampleSource;
use crate::RecordError;
use crate::edf::Annotation;

/// Longest gap filled on the time axis: a corrupt index must not make the file endless.
const MAX_GAP: usize = 1 << 24;

/// A marker to put on the EEG sample nearest its time.
#[derive(Debug, Clone, PartialEq)]
pub struct TimedMarker {
    /// Epoch seconds (headset clock).
    pub start: f64,
    /// End in epoch seconds, for an interval.
    pub end: Option<f64>,
    /// The annotation text.
    pub text: String,
}

/// What one step along a stream's axis met.
pub(crate) enum Fill {
    /// A sample at this position.
    Sample(Sample),
    /// The first position of a gap of this many samples.
    GapStart(usize),
    /// Inside a gap, or past the end of the stream.
    Filler,
}

/// One stream walked along its time axis (position = index − first index): each step yields
/// the value at the next position, a gap's positions repeating the previous value.
pub(crate) struct Lane<'a, const N: usize> {
    src: SampleSource<'a>,
    /// The next sample, taken from `src` but not yet placed.
    pending: Option<Sample>,
    value: fn(&Sample) -> [i32; N],
    first: Option<u64>,
    /// Positions dropped from over-long gaps.
    shift: u64,
    next: usize,
    in_gap: bool,
    pub(crate) last: [i32; N],
    pub(crate) read: u64,
    pub(crate) gaps: u64,
}

impl<'a, const N: usize> Lane<'a, N> {
    pub(crate) fn new(src: SampleSource<'a>, value: fn(&Sample) -> [i32; N], fill: [i32; N]) -> Self {
        Lane {
            src,
            pending: None,
            value,
            first: None,
            shift: 0,
            next: 0,
            in_gap: false,
            last: fill,
            read: 0,
            gaps: 0,
        }
    }

    /// The next sample without placing it.
    pub(crate) fn peek(&mut self) -> Result<Option<Sample>, RecordError> {
        if self.pending.is_none() {
            self.pending = self.src.next().transpose()?;
        }
        Ok(self.pending)
    }

    pub(crate) fn has_more(&mut self) -> Result<bool, RecordError> {
        Ok(self.peek()?.is_some())
    }

    fn position(&mut self, s: &Sample) -> usize {
        let first = *self.first.get_or_insert(s.index);
        let raw = s.index.saturating_sub(first).saturating_sub(self.shift);
        let raw = usize::try_from(raw).unwrap_or(usize::MAX);
        if raw > self.next + MAX_GAP {
            self.shift += (raw - self.next - MAX_GAP) as u64;
            return self.next + MAX_GAP;
        }
        raw
    }

    /// Advance one position; `self.last` is then that position's value.
    pub(crate) fn step(&mut self) -> Result<Fill, RecordError> {
        loop {
            let Some(s) = self.peek()? else {
                self.next += 1;
                return Ok(Fill::Filler);
            };
            let pos = self.position(&s);
            if pos < self.next {
                // A repeated or out-of-order sample: its position is already filled.
                self.pending = None;
                self.read += 1;
                continue;
            }
            let at = self.next;
            self.next += 1;
            if pos == at {
                self.pending = None;
                self.read += 1;
                self.in_gap = false;
                self.last = (self.value)(&s);
                return Ok(Fill::Sample(s));
            }
            if self.in_gap {
                return Ok(Fill::Filler);
            }
            self.in_gap = true;
            self.gaps += 1;
            return Ok(Fill::GapStart(pos - at));
        }
    }

    /// Count what is left without using it.
    pub(crate) fn drain(&mut self) -> Result<(), RecordError> {
        self.read += u64::from(self.pending.take().is_some());
        for s in self.src.by_ref() {
            s?;
            self.read += 1;
        }
        Ok(())
    }
}

/// Places markers on the sample nearest their times, as the samples go by.
pub(crate) struct MarkerPlacer {
    markers: Vec<TimedMarker>,
    /// (time, marker, is the end), by time.
    probes: Vec<(f64, usize, bool)>,
    next_probe: usize,
    placed: Vec<[Option<usize>; 2]>,
    done: Vec<bool>,
    prev: Option<(f64, usize)>,
}

impl MarkerPlacer {
    pub(crate) fn new(markers: Vec<TimedMarker>) -> Self {
        let mut probes: Vec<(f64, usize, bool)> = markers
            .iter()
            .enumerate()
            .flat_map(|(i, m)| [Some((m.start, i, false)), m.end.map(|e| (e, i, true))])
            .flatten()
            .collect();
        probes.sort_by(|a, b| a.0.total_cmp(&b.0));
        let n = markers.len();
        MarkerPlacer {
            markers,
            probes,
            next_probe: 0,
            placed: vec![[None; 2]; n],
            done: vec![false; n],
            prev: None,
        }
    }

    fn place(&mut self, at: usize) {
        let (_, m, end) = self.probes[self.next_probe];
        self.placed[m][usize::from(end)] = Some(at);
        self.next_probe += 1;
    }

    /// A sample at `pos` with this time went by.
    pub(crate) fn sample(&mut self, time: f64, pos: usize) {
        while let Some(&(t, _, _)) = self.probes.get(self.next_probe) {
            if t > time {
                break;
            }
            let at = match self.prev {
                Some((pt, pp)) if t - pt <= time - t => pp,
                _ => pos,
            };
            self.place(at);
        }
        self.prev = Some((time, pos));
    }

    /// The stream ended: what is left lands on the last sample.
    pub(crate) fn finish(&mut self) {
        let at = self.prev.map_or(0, |(_, p)| p);
        while self.next_probe < self.probes.len() {
            self.place(at);
        }
    }

    /// Annotations for the markers placed since the last call.
    pub(crate) fn ready(&mut self, rate: usize, out: &mut Vec<Annotation>) {
        for (i, m) in self.markers.iter().enumerate() {
            if self.done[i] {
                continue;
            }
            let end = if m.end.is_some() {
                self.placed[i][1]
            } else {
                self.placed[i][0]
            };
            if let (Some(a), Some(b)) = (self.placed[i][0], end) {
                self.done[i] = true;
                let onset = a as f64 / rate as f64;
                out.push(Annotation {
                    onset,
                    duration: (b as f64 / rate as f64 - onset).max(0.0),
                    text: m.text.clone(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use epoc_protocol::{EEG_CHANNELS, Mode, Report, ReportKind};

    fn sample(index: u64, value: u16) -> Sample {
        Sample {
            report: Report {
                mode: Mode::EPOC_PLUS_256,
                kind: ReportKind::Eeg,
                counter: 0,
                eeg: [value; EEG_CHANNELS],
                aux: 0,
                motion: [0; 9],
            },
            time: 1000.0 + index as f64 / 256.0,
            index,
            lost: 0,
        }
    }

    fn lane(samples: Vec<Sample>) -> Lane<'static, 1> {
        Lane::new(
            Box::new(samples.into_iter().map(Ok)),
            |s| [i32::from(s.report.eeg[0])],
            [-1],
        )
    }

    /// Walk a lane to its end: the value at each position and what each step met.
    fn walk(mut l: Lane<'static, 1>) -> (Vec<i32>, Vec<String>) {
        let (mut values, mut met) = (Vec::new(), Vec::new());
        while l.has_more().unwrap() {
            met.push(match l.step().unwrap() {
                Fill::Sample(s) => format!("s{}", s.index),
                Fill::GapStart(n) => format!("gap{n}"),
                Fill::Filler => "fill".into(),
            });
            values.push(l.last[0]);
        }
        (values, met)
    }

    #[test]
    fn gaps_repeat_the_previous_value_and_repeats_are_dropped() {
        let l = lane(vec![
            sample(10, 1),
            sample(11, 2),
            sample(11, 99), // repeated index
            sample(14, 3),  // 12 and 13 lost
            sample(13, 98), // late, its place is filled
            sample(15, 4),
        ]);
        let (values, met) = walk(l);
        assert_eq!(values, [1, 2, 2, 2, 3, 4]);
        assert_eq!(met, ["s10", "s11", "gap2", "fill", "s14", "s15"]);
    }

    #[test]
    fn a_corrupt_index_cannot_make_the_axis_endless() {
        let mut l = lane(vec![
            sample(0, 1),
            sample(u64::MAX / 2, 2),
            sample(u64::MAX / 2 + 1, 3),
        ]);
        let mut steps = 0usize;
        let mut last = Vec::new();
        while l.has_more().unwrap() {
            l.step().unwrap();
            steps += 1;
            if steps > MAX_GAP + 2 {
                last.push(l.last[0]);
            }
        }
        assert_eq!(steps, MAX_GAP + 3, "the gap is cut at MAX_GAP");
        assert_eq!(last, [3]);
        assert_eq!(l.gaps, 1);
    }

    #[test]
    fn markers_land_on_the_nearest_sample() {
        let at = |i: f64| 1000.0 + i / 256.0;
        let mut p = MarkerPlacer::new(vec![
            TimedMarker {
                start: at(2.4), // nearer 2
                end: None,
                text: "a".into(),
            },
            TimedMarker {
                start: at(2.6),     // nearer 3
                end: Some(at(7.5)), // a tie goes to the earlier sample
                text: "b".into(),
            },
            TimedMarker {
                start: at(-5.0),     // before the first sample
                end: Some(at(99.0)), // after the last
                text: "c".into(),
            },
        ]);
        let mut out = Vec::new();
        for i in 0..10 {
            p.sample(at(f64::from(i)), i as usize);
            p.ready(256, &mut out);
        }
        assert_eq!(
            out.iter().map(|a| a.text.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        p.finish();
        p.ready(256, &mut out);
        let got: Vec<(f64, f64)> = out
            .iter()
            .map(|a| (a.onset * 256.0, a.duration * 256.0))
            .collect();
        assert_eq!(got, [(2.0, 0.0), (3.0, 4.0), (0.0, 9.0)]);
    }
}
