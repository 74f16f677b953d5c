//! Symmetric positive-definite matrices: the affine-invariant Riemannian distance and mean
//! (Barachant, Bonnet, Congedo & Jutten 2012; Moakher 2005), through nalgebra's symmetric
//! eigendecomposition.

use nalgebra::{DMatrix, SymmetricEigen};

/// `f` applied to the eigenvalues of symmetric `m`: V diag(f(λ)) Vᵀ.
fn map_eigen(m: &DMatrix<f64>, f: impl Fn(f64) -> f64) -> DMatrix<f64> {
    let e = SymmetricEigen::new(m.clone());
    let d = DMatrix::from_diagonal(&e.eigenvalues.map(f));
    &e.eigenvectors * d * e.eigenvectors.transpose()
}

/// The symmetric part of `m` (rounding leaves products slightly asymmetric).
fn symmetric(m: DMatrix<f64>) -> DMatrix<f64> {
    (&m + m.transpose()) * 0.5
}

/// Inverse square root of SPD `m`.
pub fn inv_sqrt(m: &DMatrix<f64>) -> DMatrix<f64> {
    map_eigen(m, |l| 1.0 / l.max(f64::MIN_POSITIVE).sqrt())
}

/// Square root of SPD `m`.
pub fn sqrt(m: &DMatrix<f64>) -> DMatrix<f64> {
    map_eigen(m, |l| l.max(0.0).sqrt())
}

/// δ(A, B) = ‖log(A^-½ B A^-½)‖_F = sqrt(Σ log² λᵢ).
pub fn distance(a: &DMatrix<f64>, b: &DMatrix<f64>) -> f64 {
    let isq = inv_sqrt(a);
    let m = symmetric(&isq * b * &isq);
    SymmetricEigen::new(m)
        .eigenvalues
        .iter()
        .map(|l| l.max(f64::MIN_POSITIVE).ln().powi(2))
        .sum::<f64>()
        .sqrt()
}

/// The Riemannian (Karcher) mean of SPD matrices: start from the arithmetic mean, then
/// M ← M^½ exp(mean log(M^-½ Cᵢ M^-½)) M^½ until the step's norm is under 1e-8 (at most 50
/// iterations), as pyriemann's `mean_riemann` does.
pub fn riemann_mean(cs: &[DMatrix<f64>]) -> Option<DMatrix<f64>> {
    let first = cs.first()?;
    let n = cs.len() as f64;
    let mut m = cs.iter().skip(1).fold(first.clone(), |acc, c| acc + c) / n;
    for _ in 0..50 {
        let (sq, isq) = (sqrt(&m), inv_sqrt(&m));
        let mut step = DMatrix::zeros(m.nrows(), m.ncols());
        for c in cs {
            step += map_eigen(&symmetric(&isq * c * &isq), |l| l.max(f64::MIN_POSITIVE).ln());
        }
        step /= n;
        let norm = step.norm();
        m = symmetric(&sq * map_eigen(&step, f64::exp) * &sq);
        if norm < 1e-8 {
            break;
        }
    }
    Some(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diag(v: &[f64]) -> DMatrix<f64> {
        DMatrix::from_diagonal(&nalgebra::DVector::from_row_slice(v))
    }

    #[test]
    fn distance_of_diagonal_matrices_is_the_norm_of_log_ratios() {
        let d = distance(
            &diag(&[1.0, 1.0]),
            &diag(&[std::f64::consts::E, 1.0 / std::f64::consts::E]),
        );
        assert!((d - 2f64.sqrt()).abs() < 1e-12, "{d}");
        assert!(distance(&diag(&[2.0, 3.0]), &diag(&[2.0, 3.0])).abs() < 1e-12);
    }

    #[test]
    fn distance_is_invariant_under_congruence() {
        let a = DMatrix::from_row_slice(2, 2, &[2.0, 0.5, 0.5, 1.0]);
        let b = DMatrix::from_row_slice(2, 2, &[1.0, -0.2, -0.2, 3.0]);
        let w = DMatrix::from_row_slice(2, 2, &[1.0, 2.0, -0.5, 1.5]);
        let (wa, wb) = (&w * &a * w.transpose(), &w * &b * w.transpose());
        assert!((distance(&a, &b) - distance(&wa, &wb)).abs() < 1e-9);
    }

    #[test]
    fn the_mean_of_commuting_matrices_is_their_geometric_mean() {
        let m = riemann_mean(&[diag(&[1.0, 4.0]), diag(&[4.0, 1.0]), diag(&[2.0, 2.0])]).unwrap();
        // Per eigenvalue: (1·4·2)^(1/3) = 2 and (4·1·2)^(1/3) = 2.
        assert!((&m - diag(&[2.0, 2.0])).norm() < 1e-9, "{m}");
    }
}
