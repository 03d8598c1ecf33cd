//! The learning-rate schedule of appendix B: linear warmup from 0 over the first half epoch, then
//! cosine decay to 0 at the end of the last step.

/// Learning rate for optimiser step `step` (0-based) of `total_steps`, with `warmup_steps` of
/// linear warmup. Step k of the warmup uses `peak·(k+1)/warmup` so that no step is wasted at 0.
pub fn warmup_cosine_lr(peak: f64, step: usize, warmup_steps: usize, total_steps: usize) -> f64 {
    if step < warmup_steps {
        return peak * (step + 1) as f64 / warmup_steps as f64;
    }
    let decay_steps = total_steps.saturating_sub(warmup_steps).max(1);
    let progress = (step - warmup_steps) as f64 / decay_steps as f64;
    0.5 * peak * (1.0 + (std::f64::consts::PI * progress.min(1.0)).cos())
}

#[cfg(test)]
mod tests {
    use super::warmup_cosine_lr;

    #[test]
    fn warmup_then_cosine_to_zero() {
        // 10 steps, 2 of warmup: 0.05, 0.1, then 0.1·(1+cos(π·k/8))/2 for k = 0..7.
        let lrs: Vec<f64> = (0..10).map(|s| warmup_cosine_lr(0.1, s, 2, 10)).collect();
        assert!((lrs[0] - 0.05).abs() < 1e-12 && (lrs[1] - 0.1).abs() < 1e-12);
        assert!((lrs[2] - 0.1).abs() < 1e-12);
        let quarter = 0.05 * (1.0 + (std::f64::consts::PI / 4.0).cos());
        assert!((lrs[4] - quarter).abs() < 1e-12);
        assert!(lrs[2..].windows(2).all(|w| w[1] < w[0]));
        assert!(warmup_cosine_lr(0.1, 10, 2, 10).abs() < 1e-12);
    }
}
