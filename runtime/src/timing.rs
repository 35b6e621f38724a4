//! Timing launches on the GPU with CUDA events.
//!
//! Two methods, both reporting microseconds per launch:
//! * single launches: an event pair around each launch; includes the launch overhead the
//!   GPU sees between back-to-back launches.
//! * CUDA-graph replays: `launches_per_graph` launches are captured into one graph, which is
//!   replayed `replays` times with an event pair around each replay; each replay's time is
//!   divided by the launches it holds. This hides CPU launch cost and is the number to compare
//!   with other libraries timed the same way (see bench/attention.py).
//!
//! Each method warms up first and reports the median, which shrugs off the odd slow sample.

use crate::device::Stream;
use crate::error::{Result, RuntimeError};
use cudarc::driver::{sys, CudaEvent};
use serde::{Deserialize, Serialize};

/// How many launches and repetitions to time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimingOptions {
    /// Launches before anything is timed (JIT warm-up, caches, clocks).
    pub warmup: u32,
    /// Individually timed launches.
    pub single_launches: u32,
    /// Launches captured into the graph.
    pub launches_per_graph: u32,
    /// Timed replays of the graph.
    pub graph_replays: u32,
}

impl Default for TimingOptions {
    fn default() -> Self {
        TimingOptions {
            warmup: 10,
            single_launches: 50,
            launches_per_graph: 20,
            graph_replays: 50,
        }
    }
}

/// Timing results, in microseconds per launch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    pub graph_median_us: f64,
    pub single_median_us: f64,
    pub graph_samples_us: Vec<f64>,
    pub single_samples_us: Vec<f64>,
}

/// The median of `samples` (the mean of the middle two for an even count); NaN when empty.
pub fn median(samples: &[f64]) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    let mut s = samples.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let mid = s.len() / 2;
    if s.len() % 2 == 1 {
        s[mid]
    } else {
        (s[mid - 1] + s[mid]) / 2.0
    }
}

fn timing_event(stream: &Stream) -> Result<CudaEvent> {
    stream
        .device()
        .context()
        .new_event(Some(sys::CUevent_flags::CU_EVENT_DEFAULT))
        .map_err(|e| RuntimeError::driver("cuEventCreate", e))
}

fn record(event: &CudaEvent, stream: &Stream) -> Result<()> {
    event
        .record(stream.cuda())
        .map_err(|e| RuntimeError::driver("cuEventRecord", e))
}

fn elapsed_us(start: &CudaEvent, end: &CudaEvent) -> Result<f64> {
    let ms = start
        .elapsed_ms(end)
        .map_err(|e| RuntimeError::driver("cuEventElapsedTime", e))?;
    Ok(ms as f64 * 1000.0)
}

/// Times `launch` (which must queue exactly one kernel launch on `stream`) both ways.
pub fn time_launches(
    stream: &Stream,
    options: &TimingOptions,
    mut launch: impl FnMut() -> Result<()>,
) -> Result<Timing> {
    for _ in 0..options.warmup {
        launch()?;
    }
    stream.synchronize()?;
    let single = time_single_launches(stream, options.single_launches, &mut launch)?;
    let graph = time_graph_replays(stream, options, &mut launch)?;
    Ok(Timing {
        graph_median_us: median(&graph),
        single_median_us: median(&single),
        graph_samples_us: graph,
        single_samples_us: single,
    })
}

/// One sample per launch: events recorded just before and after it.
pub fn time_single_launches(
    stream: &Stream,
    count: u32,
    launch: &mut dyn FnMut() -> Result<()>,
) -> Result<Vec<f64>> {
    let (start, end) = (timing_event(stream)?, timing_event(stream)?);
    let mut samples = Vec::with_capacity(count as usize);
    for _ in 0..count {
        record(&start, stream)?;
        launch()?;
        record(&end, stream)?;
        samples.push(elapsed_us(&start, &end)?);
    }
    Ok(samples)
}

/// One sample per graph replay, divided by the launches in the graph.
pub fn time_graph_replays(
    stream: &Stream,
    options: &TimingOptions,
    launch: &mut dyn FnMut() -> Result<()>,
) -> Result<Vec<f64>> {
    let per_graph = options.launches_per_graph.max(1);
    let cuda = stream.cuda();
    cuda.begin_capture(sys::CUstreamCaptureMode::CU_STREAM_CAPTURE_MODE_THREAD_LOCAL)
        .map_err(|e| RuntimeError::driver("cuStreamBeginCapture", e))?;
    let captured: Result<()> = (0..per_graph).try_for_each(|_| launch());
    // End the capture even when a launch failed, so the stream is usable afterwards.
    let graph = cuda.end_capture(sys::CUgraphInstantiate_flags(0));
    captured?;
    let graph = graph
        .map_err(|e| RuntimeError::driver("cuStreamEndCapture", e))?
        .ok_or_else(|| {
            RuntimeError::BadLaunch(
                "the captured graph is empty (the grid launches nothing)".into(),
            )
        })?;
    graph
        .upload()
        .map_err(|e| RuntimeError::driver("cuGraphUpload", e))?;
    for _ in 0..options.warmup.min(5) {
        graph
            .launch()
            .map_err(|e| RuntimeError::driver("cuGraphLaunch", e))?;
    }
    stream.synchronize()?;
    let (start, end) = (timing_event(stream)?, timing_event(stream)?);
    let mut samples = Vec::with_capacity(options.graph_replays as usize);
    for _ in 0..options.graph_replays {
        record(&start, stream)?;
        graph
            .launch()
            .map_err(|e| RuntimeError::driver("cuGraphLaunch", e))?;
        record(&end, stream)?;
        samples.push(elapsed_us(&start, &end)? / per_graph as f64);
    }
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
    }
}
