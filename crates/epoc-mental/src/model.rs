//! Training data, the fitted classifier (minimum distance to Riemannian means, MDM), its
//! cross-validated skill and its brain map.

use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};

use crate::features::{from_upper, upper};
use crate::spd::{distance, riemann_mean};
use epoc_protocol::EEG_CHANNELS;

/// The neutral action every model needs.
pub const NEUTRAL: &str = "neutral";
/// Default sensitivity (1–10) of an action.
pub const DEFAULT_SENSITIVITY: u8 = 5;
/// How much one step of sensitivity above 5 shrinks an action's distance (5 %): the decision
/// bias toward (or, below 5, away from) that action.
pub const SENSITIVITY_STEP: f64 = 0.05;

/// One training epoch: the covariance matrices of its usable windows (upper triangles).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Epoch {
    /// Upper triangles of the 14×14 covariance matrices.
    pub windows: Vec<Vec<f64>>,
}

/// The accepted epochs of one action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainedAction {
    /// The Cortex action name (`neutral`, `push`, …).
    pub action: String,
    /// Accepted epochs, oldest first.
    pub epochs: Vec<Epoch>,
}

/// Everything trained for mental commands (what a profile stores).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TrainingSet {
    /// One entry per action with at least one epoch.
    pub actions: Vec<TrainedAction>,
}

impl TrainingSet {
    /// Add an accepted epoch of `action`.
    pub fn add(&mut self, action: &str, epoch: Epoch) {
        match self.actions.iter_mut().find(|a| a.action == action) {
            Some(a) => a.epochs.push(epoch),
            None => self.actions.push(TrainedAction {
                action: action.to_owned(),
                epochs: vec![epoch],
            }),
        }
    }

    /// Forget `action`'s epochs.
    pub fn erase(&mut self, action: &str) {
        self.actions.retain(|a| a.action != action);
    }

    /// How many epochs `action` has.
    pub fn times(&self, action: &str) -> usize {
        self.actions
            .iter()
            .find(|a| a.action == action)
            .map_or(0, |a| a.epochs.len())
    }

    /// The classifier over `neutral` and the given actions that have epochs; None without
    /// neutral or without another action.
    pub fn fit(&self, actions: &[String]) -> Option<Classifier> {
        let mut classes = Vec::new();
        for a in &self.actions {
            if a.action != NEUTRAL && !actions.contains(&a.action) {
                continue;
            }
            let cs = matrices(a.epochs.iter());
            if let Some(mean) = riemann_mean(&cs) {
                classes.push((a.action.clone(), mean));
            }
        }
        let has_neutral = classes.iter().any(|(a, _)| a == NEUTRAL);
        (has_neutral && classes.len() >= 2).then_some(Classifier { classes })
    }

    /// Leave-one-epoch-out accuracy over windows, per action (None below two epochs of it):
    /// how well each action is told from the others.
    pub fn cross_validate(&self, actions: &[String]) -> Vec<(String, Option<f64>)> {
        let mut out = Vec::new();
        for (ai, a) in self.actions.iter().enumerate() {
            if a.action != NEUTRAL && !actions.contains(&a.action) {
                continue;
            }
            if a.epochs.len() < 2 {
                out.push((a.action.clone(), None));
                continue;
            }
            let (mut right, mut total) = (0usize, 0usize);
            for held in 0..a.epochs.len() {
                let mut rest = self.clone();
                rest.actions[ai].epochs.remove(held);
                let Some(c) = rest.fit(actions) else { continue };
                for w in matrices(std::iter::once(&a.epochs[held])) {
                    total += 1;
                    if c.classify(&w, &[]).action == a.action {
                        right += 1;
                    }
                }
            }
            out.push((a.action.clone(), (total > 0).then(|| right as f64 / total as f64)));
        }
        out
    }
}

fn matrices<'a>(epochs: impl Iterator<Item = &'a Epoch>) -> Vec<DMatrix<f64>> {
    epochs
        .flat_map(|e| e.windows.iter())
        .filter_map(|w| from_upper(w, EEG_CHANNELS))
        .collect()
}

/// A decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The nearest action (after sensitivity).
    pub action: String,
    /// Its probability: softmax of −distance² over the classes (pyriemann's MDM
    /// `predict_proba`).
    pub probability: f64,
    /// Distances to each class mean, in class order.
    pub distances: Vec<f64>,
    /// Every class's probability, in class order.
    pub probabilities: Vec<f64>,
}

/// The fitted classifier: one Riemannian mean per action.
#[derive(Debug, Clone)]
pub struct Classifier {
    classes: Vec<(String, DMatrix<f64>)>,
}

impl Classifier {
    /// The actions, in class order.
    pub fn actions(&self) -> impl Iterator<Item = &str> {
        self.classes.iter().map(|(a, _)| a.as_str())
    }

    /// The action of class `i`.
    pub fn action(&self, i: usize) -> Option<&str> {
        self.classes.get(i).map(|(a, _)| a.as_str())
    }

    /// The class means as upper triangles (for profiles and independent checks).
    pub fn means(&self) -> Vec<(String, Vec<f64>)> {
        self.classes.iter().map(|(a, m)| (a.clone(), upper(m))).collect()
    }

    /// The nearest class to `c`; `sensitivity` lists (action, 1–10) to bias toward.
    pub fn classify(&self, c: &DMatrix<f64>, sensitivity: &[(String, u8)]) -> Decision {
        let distances: Vec<f64> = self.classes.iter().map(|(_, m)| distance(m, c)).collect();
        let scaled: Vec<f64> = self
            .classes
            .iter()
            .zip(&distances)
            .map(|((a, _), d)| {
                let s = sensitivity
                    .iter()
                    .find(|(x, _)| x == a)
                    .map_or(DEFAULT_SENSITIVITY, |(_, s)| *s);
                d * (1.0 - SENSITIVITY_STEP * (f64::from(s) - f64::from(DEFAULT_SENSITIVITY)))
            })
            .collect();
        let best = scaled
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(b.1))
            .map_or(0, |(i, _)| i);
        let lowest = scaled.iter().map(|d| d * d).fold(f64::INFINITY, f64::min);
        let weights: Vec<f64> = scaled.iter().map(|d| (-(d * d - lowest)).exp()).collect();
        let total: f64 = weights.iter().sum::<f64>().max(f64::MIN_POSITIVE);
        let probabilities: Vec<f64> = weights.iter().map(|w| w / total).collect();
        Decision {
            action: self.classes[best].0.clone(),
            probability: probabilities[best],
            distances,
            probabilities,
        }
    }

    /// A 2-D map of the actions: classical multidimensional scaling of the Riemannian
    /// distances between their means (actions close on the map are easily confused).
    pub fn brain_map(&self) -> Vec<(String, [f64; 2])> {
        let n = self.classes.len();
        let mut d2 = DMatrix::<f64>::zeros(n, n);
        for i in 0..n {
            for j in 0..n {
                d2[(i, j)] = distance(&self.classes[i].1, &self.classes[j].1).powi(2);
            }
        }
        // B = −½ J D² J with J the centring matrix; coordinates from its top two eigenpairs.
        let j = DMatrix::<f64>::identity(n, n) - DMatrix::<f64>::from_element(n, n, 1.0 / n as f64);
        let b = (&j * d2 * &j) * -0.5;
        let e = nalgebra::SymmetricEigen::new(b);
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|a, b| e.eigenvalues[*b].total_cmp(&e.eigenvalues[*a]));
        self.classes
            .iter()
            .enumerate()
            .map(|(i, (a, _))| {
                let coord = |k: usize| {
                    order.get(k).map_or(0.0, |&c| {
                        e.eigenvectors[(i, c)] * e.eigenvalues[c].max(0.0).sqrt()
                    })
                };
                (a.clone(), [coord(0), coord(1)])
            })
            .collect()
    }
}
