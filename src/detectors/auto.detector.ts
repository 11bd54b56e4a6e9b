/**
 * `auto` (the default kind): one detector built from cheap causal channels, right without tuning
 * on data it was never fitted to.
 *
 * Channels:
 * - **fault channels** (the `robust` member): a point channel on the residual from a rolling
 *   median and from the last 9 readings (spikes, dips), short-term level and drift (level shifts, ramps), variance and swing
 *   (noise bursts, oscillations, a collapsing signal), repeated values (stuck sensor) and
 *   timestamp gaps or a 0 V reading (dropout), each a surprise judged against its own long-run
 *   distribution, with a hold-off per channel;
 * - **novelty channel** (the `context` member): how unexpected each reading is after the few
 *   before it, from a bounded memory of which levels and changes followed which (new patterns;
 *   one early alarm per event, then a rest period).
 *
 * The members' calibrated scores are combined in log-odds: the strongest channel wins, with a
 * bias per member so the novelty channel, which sees every change of behaviour, speaks only when
 * it is clearly surprised. `fit` warm-starts both members on the earlier part of the normal data
 * and calibrates the combined log-odds on the held-out rest (so 0.5 meets the target false-alarm
 * rate); without `fit` the detector learns online (`vigil detect` without a model). After an
 * alarm, `holdoff` readings stay quiet unless a different channel, or a clearly larger surprise,
 * fires: one event, one alarm.
 *
 * Every score explains itself: `expected` (the rolling median the point channel compares with),
 * `lower`/`upper` (the band outside which a reading alarms as a spike or dip) and `channel` (the
 * channel that drove the score).
 *
 * After a fit, known glitches (`glitchGate`: lone one-reading excursions of a kind the training
 * part held at least twice, such as a loose connector's reading near 0 V) are scored as the last
 * normal reading (see `GlitchGate`), and without a cycle a smoothed level beyond every level the
 * training part showed alarms once per RANGE_ALARM spreads it moves (`levelRange`, see `LevelRange`),
 * and so does a move of that level over 20, 40 or 80 s of TREND_ALARM spreads of the training
 * part's moves over that lag (`levelTrend`, see `LevelTrend`).
 * Never fitted, a slow stream (readings more than 10 s apart, which never fits itself) alarms on a
 * value beyond every value it has shown (`newExtremes`, see `NewExtremes`). The fault member's
 * hold-off ends only once the channel that started it has fallen below the alarm level (`holdoffRearm`).
 *
 * With `adaptLevel` (the presets) the first readings after `fit` or `resume` re-baseline to the
 * device's level and noise scale, and both members see the re-baselined values (decision 0009).
 * @module
 */
import { calibrate, isCalibration, type Calibration } from './calibration.ts';
import { GlitchGate } from './channels/glitch.ts';
import { AR_READINGS_PER_COEFFICIENT, ArPoint } from './channels/arpoint.ts';
import { EXTREME_WARMUP, NewExtremes } from './channels/extremes.ts';
import { quantumOf } from './channels/level.ts';
import { LevelRange } from './channels/range.ts';
import { KnownStates } from './channels/states.ts';
import { LevelTrend, TREND_LAGS_MS, TREND_MIN_SPAN_MS } from './channels/trend.ts';
import { SeasonalRemover } from './channels/seasonal.ts';
import { SubsequenceChannel } from './channels/subsequence.ts';
import { contextFactory, type BriefScore, type ContextDetector } from './context.detector.ts';
import { asRecord, assertEnoughData, fitTailCalibration, holdoutSize, invalidArtifact, logit, readParams, runStepsAsync, runStepsNow, throwIfAborted, type FitSteps, type Params } from './ml-shared.ts';
import { deriveSeed } from './random.ts';
import type { DetectorFactory } from './registry.ts';
import { robustFactory, type RobustDetector } from './robust.detector.ts';
import {
  DetectorError,
  type CreateDetectorOptions,
  type Detector,
  type DetectorArtifact,
  type DetectorDescriptor,
  type DetectorParamSpec,
  type FitOptions,
  type FitReport,
  type Reading,
  type Score,
  type WarmupState,
} from './types.ts';
import { confidenceOf } from './calibration.ts';

const KIND = 'auto' as const;
const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
const ARTIFACT_VERSION = 1;

/**
 * The novelty member's parameters: coarser level bins than `context`'s live default, a wider
 * learned range and a lower alarm surprise (it runs mostly without `fit`), with a smaller memory so
 * one live instance stays small.
 */
export const AUTO_CONTEXT_PARAMS: Readonly<Record<string, number>> = { levels: 8, rangePad: 0.2, alarmSurprise: 5, minSpread: 0.001, capacity: 1500 };
/**
 * Without fit, the combined log-odds are shifted down by this much before the threshold: on clean
 * simulator noise the unfitted channels otherwise alarm about 24 times an hour at 10 Hz.
 */
const ONLINE_SHIFT = 4;
/**
 * After fit, the novelty channel's calibrated 0.5 is at least at this log-odds of its own score. 5
 * since 2026-12-05 (3 before; stored models keep the centre they were fitted with): on the wider
 * development set fit 0.880 at 45 false alarms → 0.884 at 35, online 0.870 at 58 → 0.876 at 43
 * (4: 0.883 / 0.876, 6: 0.884 / 0.877; decision 0014).
 */
const NOVELTY_FLOOR = 5;
/** The shape channel's score (about 1 at the top of normal) as raw log-odds SHAPE_SLOPE · ln(score / SHAPE_CENTER), calibrated after fit. */
const SHAPE_CENTER = 2;
const SHAPE_SLOPE = 4;
/** After fit, the shape channel's calibrated 0.5 is at least at this raw log-odds (twice the top of normal). */
const SHAPE_FLOOR = 0;
/**
 * One incident, one alarm: an event's aftermath (a long level shift's return, a cycle whose phase
 * moved, the seasonal residual relearning the cycle) keeps channels at alarm level after the event.
 * Below the 30 s that separates events in the sensor-fault benchmark, so it does not merge them.
 * 25 s since 2026-12-04 (20 before; stored models keep theirs): on the wider development set,
 * with `glitchGate`, 0.851 at 67 false alarms → 0.854 at 59 (decision 0014).
 */
const EPISODE_SECONDS = 25;
/** Within an incident, a break longer than this (or 2.5 readings) ends a channel's run of alarm-level readings (see `echoRuns`). */
const RUN_GAP_MS = 1000;
/**
 * `ownRuns`: an echo this many times further from the expected value than the incident's own alarms
 * is a larger event: it starts a run, and with `holdoffBreak` a clear outlier is no echo at all.
 */
const BREAKTHROUGH = 2;
/** The fault channels that average over readings: after another channel's alarm, theirs may be its echo. */
const AVERAGING_CHANNELS: ReadonlySet<string> = new Set(['level', 'drift', 'swing', 'burst', 'collapse', 'range', 'trend', 'exceed']);
/**
 * `levelRange`: the range channel alarms once the smoothed level lies this many spreads beyond the
 * training part's levels. On the wider development set (seeds 100001–100192, fit) 8 added no false
 * alarm and found 6 more ramps; 4 found more events for 7 more false alarms (decision 0014).
 */
const RANGE_ALARM = 8;
/** `newExtremes`: a new extreme scores this many log-odds above the threshold. */
const EXTREME_LOGIT = 1;
/**
 * `levelTrend`: the trend channel alarms once the smoothed level has moved this many spreads of its
 * training moves over one of its lags (see LevelTrend).
 */
const TREND_ALARM = 5;
/**
 * `cycleTrendLong`: the span of cycle levels the trend channel's fit needs on a cycle (ms): 2.5 of its
 * longest lag, where a fit on readings needs 3. The levels of a cycle start only once a whole cycle or
 * two has been seen, so 300 s of training on a 20–40 s cycle left about 230 s of them, and no channel;
 * on a cycle a move must reach the alarm at two lags, which a spread from fewer moves can afford.
 * 160 s measured the same on the development sets (decision 0014).
 */
const CYCLE_TREND_MIN_SPAN_MS = 200_000;
/**
 * `cycleHoldSize`: a point fault holds the trend channel on a cycle when it moves the cycle's mean
 * by this many spreads of the channel's shortest lag. On the wider development set (seeds
 * 100001–100192, fit) 1 and 0.5 found the same 4 more ramps and dips for no more false alarms; with
 * no hold at all for faults under surprise 5, 8 more false alarms came from loose wires' glitches (decision 0014).
 */
const CYCLE_HOLD_SPREADS = 1;
/**
 * `shapeNewNormal`: cycles of anomalous windows after which the shape channel takes a lasting
 * change as the new normal (see SubsequenceChannel's `newNormalCycles`); without it, half its history.
 */
const SHAPE_NEW_NORMAL_CYCLES = 16;
/**
 * `exceedance`: the fault member's exceedance count (readings beyond its band on both sides, see
 * Exceedance) alarms from this surprise (−log10). On the wider development set (seeds
 * 100001–100192, fit) the count found 13 more oscillations and 6 more noise bursts for 1 fewer
 * false alarm; with an earlier form of it, 7 found the same as 8 and 10 one oscillation fewer
 * (decision 0014).
 */
const EXCEED_ALARM = 8;
/**
 * `exceedTrained`: the count alarms from the larger of EXCEED_ALARM and this far (−log10: ten times
 * rarer) beyond the largest surprise it reached on the training data: bursts of interference that
 * the training part held are normal for the device (decision 0014).
 */
const EXCEED_TRAINED_MARGIN = 1;
/**
 * `shortFit`: the fewest readings a fit's novelty member learns from (its own floor; its warm-up
 * shrinks to half of them). With the 25 % hold-out a fit then needs SHORT_FIT_MIN readings: a
 * 5-minute recording of a 1 Hz sensor (300) can be fitted; 900 were needed before (decision 0014).
 */
const SHORT_FIT_TRAIN = 200;
const SHORT_FIT_MIN = Math.ceil(SHORT_FIT_TRAIN / 0.75);
/** What a fit needed before `shortFit` (the novelty member's 600 readings after the hold-out, and 100 to spare); a fit on fewer is short. */
const LONG_FIT_MIN = Math.ceil(600 / 0.75) + 100;
/**
 * A fit whose own hold-out alarms on more than this share of its readings has not learned the
 * signal's normal; it is refused as too little data rather than kept to alarm on everything.
 * `shortFit`: a few minutes can miss how the noise varies. `holdoutGuard`: any fit a user asks for
 * (a recording of one constant value, a disconnected sensor, made a model whose every reading
 * alarmed as stuck); not a never-fitted stream's self-fit beyond its early one, whose refusal would
 * end its self-fits (on the online development sets that cost events).
 * No fit of the benchmarks comes near it: 936 fits (both development sets, `vigil bench synthetic`,
 * the outside check, the periodic benchmark) at most 0.33 %, the presets at most 0.07 %.
 */
const HOLDOUT_ALARMS_MAX = 0.05;
/**
 * `earlySelfFit`: a never-fitted stream that has not reached its first self-fit (selfFit readings)
 * when its readings span this long fits itself once then, provisionally (below 3.4 Hz: 1,024
 * readings at 1 Hz are 17 minutes of scoring without a fit). Five minutes: the outside check's
 * training length, whose slow traces showed the gap; no other span was tried (decision 0014).
 */
const EARLY_SELF_FIT_MS = 300_000;
/** `exceedance`: the fault member's count holds at most this many readings (see the robust detector's `exceedWindow`). */
const EXCEED_WINDOW = 32;
/** Log-odds per spread beyond RANGE_ALARM (below it the channel's score stays under the threshold). */
const RANGE_SLOPE = 0.5;
/**
 * `spikeBar`: after a fit, a reading whose point (spike) surprise reaches this (−log10 p, under
 * the point channel's own guards: its learned spread, the absolute robust-z guard and, on
 * heavy-tailed noise, the training tail) alarms on its own, above the fault group's calibrated bar.
 * The group is calibrated on the largest of eight surprises, so on a wandering or cycling signal
 * the swing and collapse channels' normal tail set a bar that a 10–19σ spike (surprise 10–15)
 * stayed under. Chosen on the two development sets of 192 traces (seeds 100001–100192 and
 * 100385–100576), fit and online, in the rule's first form: 6 gave more false alarms than finds,
 * 7 and 8 the best F1, 10 and 12 less; 8 kept for fewer false alarms (decision 0014).
 */
const SPIKE_BAR = 8;
/**
 * `faultFloor`: the least centre of the fault group's calibration, the log-odds of the fault
 * member's score of 1 in 1,000. Over the 96 development fits (seeds 100001–100096) the centres
 * run from −0.71 up, so it binds only on a hold-out where that member is all but silent.
 */
const FAULT_FLOOR = Math.log(0.001 / 0.999);
/**
 * `spikeBar` on a cycle: the point channel reads the residual from the remembered cycle, whose
 * normal readings reached surprise 8–9 at a sawtooth's drop and a daily cycle's turn (two series of
 * the periodic benchmark's development split, whose highest score then fell there). 10 keeps both
 * and costs the sensor development sets 2–4 events (12: 4–6).
 */
const SPIKE_BAR_CYCLE = 10;
/**
 * `arPoint`: the autoregressive channel's order, its bar in spreads of the prediction error (the
 * median absolute error / 0.6745) and its bar as a multiple of the largest error of the training
 * part and its hold-out. Chosen on the two development sets of 192 traces (seeds 100001–100192 and 100385–100576),
 * fit and online: orders 8, 12, 16 and 24, bars 4–7 and factors 1.0–2.0 (decision 0014).
 */
const AR_ORDER = 16;
const AR_MIN_Z = 5.5;
const AR_FACTOR = 1.2;
/**
 * `spikeBar`: a lifted reading also lies at least this many ADC steps from the rolling median. A
 * signal whose noise is below one step has its noise scale floored at the step's own error, so 3
 * codes out scored as a 10σ spike on a 10-bit random walk (on the development sets 4 kept one
 * false alarm fewer than no such rule, and every find).
 */
const SPIKE_BAR_QUANTA = 4;
/**
 * `spikeBar`: a lifted reading scores this many log-odds above the threshold, plus SPIKE_BAR_SLOPE
 * per unit of point surprise beyond SPIKE_BAR: just over the bar, so lifted readings rank by
 * surprise among themselves but never outrank a calibrated alarm (an incident's other channels
 * still decide what is an echo of it; with RANGE_SLOPE's 0.5 a 20σ reading of a noise burst
 * outranked the burst's own alarm and alarmed again inside its incident, and dev F1 was lower).
 */
const SPIKE_BAR_MARGIN = 0.01;
const SPIKE_BAR_SLOPE = 0.01;
/** The most readings a never-fitted detector keeps for fitting itself (the last self-fit is at this count or below). */
const SELF_FIT_MAX = 32_768;
/**
 * A never-fitted detector fits itself at each doubling up to this many readings, and beyond (up to
 * SELF_FIT_MAX) while its readings span less than SELF_FIT_SPAN_MS: 4,096 readings are 41 s at
 * 100 Hz, too little to know a wandering level by.
 */
const SELF_FIT_READINGS = 4096;
const SELF_FIT_SPAN_MS = 300_000;
/** A never-fitted detector fits itself only when its readings come at least this often (ms): sensor streams. */
const SELF_FIT_MAX_INTERVAL_MS = 10_000;
/**
 * `selfFitQuiet`: a self-fit whose readings span at least this long (ms) is trusted: what it alarms
 * on is kept out of the next self-fit. A shorter one (1,024 readings are 10 s at 100 Hz) is
 * provisional: most of its alarms are its own misjudged noise, and the refits must still come.
 */
const QUIET_TRUSTED_MS = 120_000;
/** `selfFitQuiet`: the next self-fit ends this long (ms) before a trusted fit's first alarm (an event starts before it alarms). */
const QUIET_MARGIN_MS = 30_000;
/** `selfFitQuiet`: a cut self-fit runs only when it has at least this many times the last fit's readings (else it is skipped). */
const QUIET_MIN_GAIN = 1.5;
/**
 * `budgetHz`: the smallest share of the per-reading false-alarm target a fast stream keeps (a tenth:
 * 100 Hz, the fastest the benchmarks hold, against the default 10 Hz, the Arduino's rate). Set
 * before measuring, not tuned (decision 0014, *A false-alarm budget per hour, not per reading*).
 */
const MIN_BUDGET_SHARE = 0.1;

/** `budgetHz`: the share of the per-reading false-alarm target for readings `intervalMs` apart. */
function budgetShare(budgetHz: number, intervalMs: number): number {
  if (!(budgetHz > 0) || !(intervalMs > 0)) return 1;
  return Math.min(1, Math.max(MIN_BUDGET_SHARE, (budgetHz * intervalMs) / 1000));
}

/** The fault member's parameters (besides `adaptLevel`). */
export const AUTO_ROBUST_PARAMS: Readonly<Record<string, number | boolean>> = { rarityHorizon: 100_000, rarityUntilFit: true };
/** Changes to the fault member's parameters when it sees a deseasonalised signal. */
export const AUTO_SEASONAL_ROBUST_PARAMS: Readonly<Record<string, number>> = { levelWeight: 0, driftWeight: 0 };
/**
 * Default `driftSeconds`: a ramp is slow in time, not in readings (300 readings are 3 s at 100 Hz
 * and 5 min at 1 Hz); 20 s is the shortest rise of the sensor-fault benchmark's ramps (decision 0014).
 */
const DRIFT_SECONDS = 20;
/**
 * The fault member's swing channel floors (`swingFloors`): its log energy never has a narrower
 * spread than white noise averaged over its 16 readings gives (an exponential average of 16 has
 * about 31 degrees of freedom: sd ≈ √(2/31) ≈ 0.25), and its energy never falls below a tenth of
 * the squared noise scale. Without them a trace sitting on one ADC code (residuals of exactly 0)
 * taught the channel a log energy of −27.6 with no spread; the next one-code flicker scored a
 * surprise of ~60,000, the channel stopped learning (it learns only unsurprising energy) and stayed
 * there, inflating the fault calibration and the normal band 60-fold (decision 0014).
 */
const SWING_FLOORS: Readonly<Record<string, number>> = { swingMinSd: 0.25, swingFloor: 0.1 };
/**
 * `swingSettle`: on a cycle, the fault member's swing channel learns its first this-many energies
 * (ten of its 16-reading averages) whatever they are, and only then only unsurprising ones. On a
 * cycle the residual changes as the cycle's shape settles (the median of three same-phase readings,
 * then of five) just as the channel starts judging: on seed 100125 of the wider development set (a
 * 2 Hz cycle of 22.5 readings) it had learned ten quiet energies (spread 0.08), refused every later
 * one and stayed at surprise 10–35; the fault member's score saturated, the calibration put the
 * threshold there, and every reading alarmed or sat just under it (five events missed, two false
 * alarms). 100 and 160 gave the same. Off a cycle the same rule brought 26 false alarms of the stuck
 * channel on the benchmark's dev seed 45 (a signal that sits on one ADC code), whose normal runs the
 * locked channel's wide calibration had hidden; that pair is left for a later change (decision 0014).
 */
const SWING_SETTLE = 160;
/**
 * The fault member's run guards (`runGuards`): on a signal that sits on one ADC code for long
 * stretches, runs of repeats are normal and their Markov surprise (about 20 on such traces) set the
 * fault channels' alarm point for every channel; a run is now no rarer than the training part's
 * longest was until it is twice as long (the Markov surprise applies beyond). And readings judged
 * against no noise scale (before a signal that started constant first changes) teach the spike and
 * level channels nothing: one |z| of 1000 kept the spike channel's learned spread at ~5 for
 * thousands of readings, so a 24σ spike scored like a 5σ one (decision 0014).
 */
const RUN_GUARDS: Readonly<Record<string, number | boolean>> = { stuckRunFactor: 2, learnUnscaled: false };
/**
 * `runsLearned`: a run of repeats that has ended becomes the run reference's longest when it is at
 * most this many times the longest known (a run the fit's sample was too short to show); the
 * benchmark's stuck events are 10 times the training part's longest run or more, so they never
 * teach it. Set before measuring, not tuned (decision 0014, *Runs a self-fit was too short to show*).
 */
const RUNS_LEARNED = 4;
/**
 * `dropoutsApart`: a 0 V dropout's readings are no measurement of the signal. Entering the fault
 * member's rolling median, step sizes, swing energy and drift level (clipped), they came back as
 * drift or swing alarms 20–26 s after the dropout ended, when the drift channel compared the level
 * with the one 20 s earlier (dev seeds 21, 37, 47; decision 0014).
 */
const DROPOUTS_APART: Readonly<Record<string, boolean>> = { skipZeroDropouts: true };
/**
 * `stuckApart`: a stuck sensor's repeats are no measurement of the signal's spread. Entering the
 * fault member's median window and step sizes, a run of them collapsed the window's IQR and the
 * mean step, so the noise after the run scored as spikes 3–5 s after it ended (4 of the wider
 * development set's 59 false alarms). Kept out once the stuck channel finds the run surprising and
 * it is longer than any run of the training part: wider development set fit 0.860 → 0.867 at 59 →
 * 58 false alarms, online 0.766 → 0.769; seeds 100193–100384 fit 0.825 → 0.836 (decision 0014).
 */
const STUCK_APART: Readonly<Record<string, boolean>> = { skipStuck: true };
/**
 * `dropoutsTeachNothing`: the fault member's spike and level channels compare each reading with
 * what the last ~1,000 readings taught them (mean and spread of |robust z| and of the short mean
 * residual). A 0 V dropout's reading (|z| up to 1000) taught them that far out is normal: one such
 * reading kept the spike channel's learned spread at ~30 for minutes, so a 14σ spike 8 minutes
 * later scored a surprise of 1 (wider development seed 100129). Such readings now teach them
 * nothing (the fault member's `learnDropouts` off). Wider development set (seeds 100001–100192,
 * fit; decision 0014): F1 0.867 → 0.873 at 58 → 58 false alarms; online 0.769 → 0.773. Also with
 * `adaptLevel` (the presets: their reference accuracy is unchanged, and a live 0 V reading is the
 * same on any device).
 */
const DROPOUTS_TEACH_NOTHING: Readonly<Record<string, boolean>> = { learnDropouts: false };
/**
 * The fault member's `levelClip` (auto's `levelClip`): a reading beyond 8 robust σ enters the level
 * channel's short mean as 8σ unless the reading before was also beyond it on the same side. One
 * glitch from a loose wire or a heavy-tailed noise sample is the spike channel's to judge; entering
 * at full size it read as a level shift, and the level channel's calibration had to sit above every
 * glitch. On the wider development set (seeds 100001–100192, fit) F1 0.781 → 0.796 and false alarms
 * 116 → 99 (5σ and 12σ: 0.793 and 0.792); with the lone reading named a spike and the level channel
 * taking over its incident (`levelTakesOver`), 0.795 at 100 (decision 0014). Not for re-baselined
 * shape models (`adaptLevel`, the presets): their spike channel keeps the heavy-tail guard of a
 * training trace that is not the device's, so a one-reading spike of 50σ scores below their alarm
 * point and it is the level channel that catches it.
 */
const LEVEL_CLIP = 8;
/**
 * `settledDrift`: the fault member's drift level is averaged over driftSeconds / `smoothShare`
 * (2.5 s at the default 20 s) by a normalised exponential kernel and compared only once settled
 * (`driftSmooth`, which also floors the drift spread at a share of the noise and lets a change's
 * way back raise no second alarm): before, the level started at the first reading after a start or
 * pause, and a lag later was compared with that one reading. On a cycle no longer than
 * `maxCycleShare` of driftSeconds the drift channel reads the deseasonalised residual, its level
 * averaged over at least one cycle so the residual's wobble within a cycle cancels: ramps on
 * cycles had no channel (the level channel is off there). Longer cycles keep it off: a level
 * averaged over a cycle that long cannot show a change within the lag, and on the periodic
 * benchmark (cycles of 19–200 s) its alarms took the top score from the shape channel. Wider
 * development set (seeds 100001–100192, fit): F1 0.795 → 0.801, false alarms 100 → 88, ramps 59 →
 * 63 of 129 (decision 0014 has the variants).
 */
const SETTLED_DRIFT = { smoothShare: 8, maxCycleShare: 0.5 } as const;
/**
 * `localPoint`: the fault member's spike channel also measures a reading from the median of the
 * last 9 readings, in the noise its steps show (`localPoint` in `robust`). The rolling median of
 * 128 readings lags a wandering level, and the window's spread includes the wander. On the wider
 * development set (seeds 100001–100192, fit): F1 0.801 → 0.817 and false alarms 88 → 85 with
 * 9 readings. With 3 / 5 / 7 / 11 / 15 / 31 readings: 0.809 / 0.811 / 0.813 / 0.813 / 0.810 /
 * 0.806. The local distance alone, without the rolling median's, scored 0.808 with 5 readings
 * (decision 0014). Not for re-baselined shape models (`adaptLevel`, the presets): their spike
 * channel's guards come from a training trace that is not the device's, and the `Polymer
 * (tolerant)` preset's reference accuracy fell from 0.867 to 0.839 with it.
 */
const LOCAL_POINT = 9;
/**
 * `holdoffBreak`: during the fault member's hold-off a clear outlier this many times further from
 * the rolling median (robust |z|) than the reading that started it counts again (decision 0014).
 */
const HOLDOFF_BREAK = 2;

/** The fault member's `levelClip` for these params (0: it does not clip). */
function levelClipOf(params: Params): number {
  return params.levelClip === true && params.adaptLevel !== true ? LEVEL_CLIP : 0;
}
/** The fault member's stuck or dropout surprise (its alarm level) from which a reading is kept out of the cycle's shape (`cycleImpute`). */
const IMPUTE_SURPRISE = 3;

const PARAM_SPECS = [
  { name: 'noveltyBias', type: 'number', default: 0, min: -20, max: 20, description: 'Added to the novelty channel log-odds before the channels are combined (negative: it must be more surprised to win).' },
  { name: 'faultBias', type: 'number', default: 0, min: -20, max: 20, description: 'Added to the fault channels log-odds before the channels are combined.' },
  { name: 'shapeBias', type: 'number', default: 0, min: -20, max: 20, description: 'Added to the shape (subsequence) channel log-odds before the channels are combined.' },
  {
    name: 'cycleVarianceBias',
    type: 'number',
    default: -2,
    min: -20,
    max: 20,
    description:
      'Added to the fault channels calibrated log-odds when the burst or collapse channel drives them and the training data had a cycle: their variance of the deseasonalised residual follows the cycle\'s phase and tempo, and bursts or amplitude changes of cycles are the shape channel\'s to judge (0 in models written before it).',
  },
  {
    name: 'cycleQuietBias',
    type: 'number',
    default: -4,
    min: -20,
    max: 0,
    description:
      'Added to the fault channels calibrated log-odds while they stay below the alarm threshold, when the training data had a cycle: their near misses on the deseasonalised residual rank below the shape channel\'s evidence of a changed cycle. Alarms are unchanged (0 in models written before it).',
  },
  {
    name: 'cycleNoveltyBias',
    type: 'number',
    default: -2,
    min: -20,
    max: 20,
    description: 'Added to the novelty channel calibrated log-odds when the training data had a cycle (the shape channel is calibrated): on periodic data a new pattern is the shape channel\'s to judge.',
  },
  { name: 'holdoff', type: 'integer', default: 0, min: 0, max: 1_000_000, description: 'Readings after an alarm during which only a different channel or a larger score alarms again.' },
  {
    name: 'episode',
    type: 'number',
    default: EPISODE_SECONDS,
    min: 0,
    max: 86_400,
    description:
      'Seconds (by reading timestamps) an incident lasts after its last alarm-level reading: within it a shape alarm, or an averaging channel (level, drift, swing, burst, collapse) other than the last alarm\'s, alarms only when larger (its echo otherwise; 0: off).',
  },
  {
    name: 'pointEchoOfShape',
    type: 'boolean',
    default: true,
    description:
      'Within an incident the shape channel raised, a point (spike/dip) alarm is also an echo unless larger: after a cycle moved, the deseasonalised residual shows its new phase as spikes (off in models written before it).',
  },
  {
    name: 'echoRuns',
    type: 'boolean',
    default: true,
    description:
      'Within an incident, a shape alarm is an echo, and the channels that average over readings (level, drift, swing, burst, collapse) alarm only while they continue the incident\'s own run of alarm-level readings: any other alarm of theirs in the incident is its echo, however large (off in models written before it: larger alarms alarmed again).',
  },
  {
    name: 'ownRuns',
    type: 'boolean',
    default: true,
    description:
      "With echoRuns, an averaging channel's run continues only from the incident's own alarms: an echo's alarm-level readings start no run, so an echo two readings long stays an echo, unless a reading is more than twice as far from the expected value as any the incident alarmed on (a larger event) (off in models written before it: its second reading alarmed).",
  },
  {
    name: 'holdoffBreak',
    type: 'boolean',
    default: true,
    description:
      "A clear outlier (point surprise above 6) more than twice as far out as what came before breaks the fault member's hold-off (100 readings after an alarm-level surprise, twice the surprise needed: surprises saturate, so a 400σ reading seconds after a 100σ one had scored 0) and, with ownRuns, is no echo in an incident (off in models written before it).",
  },
  {
    name: 'holdoffRearm',
    type: 'boolean',
    default: true,
    description:
      "The fault member's hold-off (100 readings after an alarm-level surprise) ends only once the channel that started it has fallen below the alarm level: at 1–2 Hz its 128-reading rolling median takes a minute to catch up after a ramp or a level shift, and the swing channel, still high, alarmed again as the hold-off ran out (off in models written before it).",
  },
  {
    name: 'swingSettle',
    type: 'boolean',
    default: true,
    description:
      "On a cycle, the fault member's swing channel learns its first 160 energies whatever they are, and only then only unsurprising ones: the residual changes as the cycle's shape settles, and a channel that judged from its first ten energies could refuse every later one, stay surprised and pin the fault member's score at the threshold (off without a cycle, and in models written before it).",
  },
  {
    name: 'swingFloors',
    type: 'boolean',
    default: true,
    description:
      'The swing channel never trusts a spread of its log energy narrower than white noise gives, nor an energy below a tenth of the squared noise scale, so a signal that sits on one ADC code cannot lock it at a huge surprise (off in models written before it).',
  },
  {
    name: 'dropoutsApart',
    type: 'boolean',
    default: true,
    description:
      'A 0 V dropout\'s readings are scored but enter none of the fault channels\' rolling statistics (median window, step sizes, swing energy, drift level), as missing readings would not (off in models written before it).',
  },
  {
    name: 'stuckApart',
    type: 'boolean',
    default: true,
    description:
      "A stuck run's readings, once the stuck channel finds the run surprising, are scored but enter neither the fault channels' median window, last readings nor step sizes, so the noise after the run is not judged against the collapsed spread of its repeats (not with adaptLevel; off in models written before it).",
  },
  {
    name: 'dropoutsTeachNothing',
    type: 'boolean',
    default: true,
    description:
      "A 0 V dropout's reading teaches the spike, level and swing channels' long-run statistics nothing (its |robust z| of up to 1000 taught them that far out is normal and hid the next spike for minutes); it is still scored and named a dropout; also with adaptLevel (off in models written before it).",
  },
  {
    name: 'cycleLevelFree',
    type: 'boolean',
    default: true,
    description:
      "On a cycle, the remembered shape is the median of each same-phase reading minus its own cycle's level (with the level of the last cycles added back), so a level shift or ramp longer than half the cycles remembered leaves no half-shifted phases in the cycle after it ends, which the fault channels heard as spikes and swings (off in models written before it: the median of the readings as read).",
  },
  {
    name: 'cycleImpute',
    type: 'boolean',
    default: true,
    description:
      'On a cycle, a reading the stuck or dropout channel finds surprising enters the cycle\'s remembered shape as the shape\'s own value at its phase, not as read, so a stuck sensor or a dropout is not learned as part of the cycle (off in models written before it).',
  },
  {
    name: 'spikeBar',
    type: 'boolean',
    default: true,
    description: `After a fit (or a self-fit), a reading whose point surprise alone reaches ${SPIKE_BAR} (p ≤ 1e-${SPIKE_BAR} under the point channel's own guards) (${SPIKE_BAR_CYCLE} on a cycle) and that lies at least ${SPIKE_BAR_QUANTA} ADC steps from the rolling median alarms as a spike, whatever the other fault channels' normal tail set the fault group's bar to: on a wandering or cycling signal the swing channel's tail hid spikes of 10–19 noise sigmas (off in models written before it).`,
  },
  {
    name: 'spikePairs',
    type: 'boolean',
    default: true,
    description: `With spikeBar, on heavy-tailed training noise (the point channel guarded by a power-law tail), two readings in a row out on the same side count together: twice the smaller of their point surprises reaches the bar. One reading at 2–3 times the largest normal excursion scores only 4–6 under such a tail, two in a row do not happen in independent noise (off in models written before it).`,
  },
  {
    name: 'arPoint',
    type: 'boolean',
    default: true,
    description: `With spikeBar, after a fit on data whose noise is not heavy-tailed: each reading's step is also judged against a linear prediction from the ${AR_ORDER} steps before it (least squares on the training part), and a reading beyond ${AR_MIN_Z} spreads of that prediction's error and ${AR_FACTOR} times the largest such error of the training part reaches the spike bar (errors judged against a slow average of how well the prediction still fits, never below the training part's). A smooth signal, a fast cycle or a mains hum aliased to a few readings per cycle is predicted to within its noise, where a rolling median is not; up to 3 outlying readings in a row enter the history as predicted, and the channel then waits until its history holds readings only before it speaks again (not with adaptLevel; off in models written before it).`,
  },
  {
    name: 'knownStates',
    type: 'boolean',
    default: true,
    description:
      "After a fit on data that sits at a few separate levels and switches between them (a relay, a thermostat, a pump; see KnownStates), the fault channels judge each reading's distance from its level instead of the reading (or the reading with a cycle removed), and a reading in one of those levels (or between two, on an edge no longer than training's) alarms only as stuck (when the fault member alarms on it itself), dropout, collapse or a changed cycle; the hold-out calibrates on the same. A run between two levels that comes back to the level it left alarms as a spike when it does, unless training held such runs; a level never seen alarms, and becomes a known one after 100 flat readings there. Never fitted, alarms since a self-fit do not cut the next one short when all the readings seen show more such levels than the model knows (not with adaptLevel; off in models written before it: nearly every switch alarmed).",
  },
  {
    name: 'coarseClock',
    type: 'boolean',
    default: true,
    description:
      "Readings that share a timestamp (a logger stamping 10 Hz readings to the second, a gateway stamping a batch) are not gaps of 0: the time the clock then moves is shared among the readings since it last moved, for the sampling interval the dropout channel learns (off in models written before it: the learned interval fell towards 0 and every tick of the clock alarmed as a dropout).",
  },
  {
    name: 'faultFloor',
    type: 'boolean',
    default: true,
    description:
      'The fault group\'s calibrated centre is at least the log-odds of 1 in 1,000 (the fault member\'s own score): a hold-out on which that member was all but silent (a cycle repeating exactly, whose residual never moves) put the bar at that silence, and every reading alike alarmed (off in models written before it).',
  },
  {
    name: 'cycleRepeatsRaw',
    type: 'boolean',
    default: true,
    description:
      "On a cycle, the stuck channel counts a repeat of the reading with the cycle removed only when the reading itself repeated: a signal that repeats its cycle exactly (an ADC toggling between two codes at every reading) leaves the same residual reading after reading while the sensor moves, which is no stuck sensor (off in models written before it: a never-fitted stream of two alternating codes alarmed stuck on every reading after its fourth self-fit).",
  },
  {
    name: 'runsLearned',
    type: 'boolean',
    default: true,
    description: `With runGuards, after a fit the run reference goes on learning: a run of repeats that ends longer than the longest known but at most ${RUNS_LEARNED} times as long becomes the longest (the count of runs stays the fit's), so a normal run the fit's sample (a short self-fit's above all) was too short to show alarms once, not every time it recurs; a stuck sensor's run, far longer, teaches nothing (off in models written before it).`,
  },
  {
    name: 'runGuards',
    type: 'boolean',
    default: true,
    description:
      'A run of repeated readings is no rarer than the longest run the training part held until it is twice as long, and readings judged before any noise scale was known teach the spike and level channels nothing (off in models written before it).',
  },
  {
    name: 'levelClip',
    type: 'boolean',
    default: true,
    description:
      "A reading beyond 8 robust σ enters the level channel's short mean as 8σ unless the reading before was also beyond it on the same side: one glitch is a spike, not a level shift; the level channel's alarm on the next reading of a real shift continues that incident (not with adaptLevel; off in models written before it).",
  },
  {
    name: 'driftSeconds',
    type: 'number',
    default: DRIFT_SECONDS,
    min: 0,
    max: 86_400,
    description:
      'The drift channel compares the level now with the level this many seconds earlier (ramps are slow in time, whatever the sampling rate; 0: 300 readings earlier, as in models written before it).',
  },
  {
    name: 'settledDrift',
    type: 'boolean',
    default: true,
    description:
      "The drift channel's level is a weighted average compared only once it has settled (no drift alarm from the first readings after a start or pause), a change's way back raises no second drift alarm, and on a cycle no longer than half of driftSeconds the drift channel also reads the deseasonalised residual, its level averaged over at least one cycle (off in models written before it).",
  },
  {
    name: 'localPoint',
    type: 'boolean',
    default: true,
    description:
      "The point channel also measures a reading from the median of the last 9 readings (in the noise its steps show), not only from the rolling median of 128, which lags a wandering level (not with adaptLevel; off in models written before it).",
  },
  {
    name: 'glitchGate',
    type: 'boolean',
    default: true,
    description:
      "After a fit, a lone one-reading excursion of a kind the training part held at least twice, on the same side and at an agreeing depth (a loose connector's reading near 0 V), is a known glitch: the last normal reading is scored in its place, so it neither alarms nor enters any channel's statistics; two in a row are no glitch, and live data teaches it no new kind (not with adaptLevel; off in models written before it).",
  },
  {
    name: 'glitchValues',
    type: 'boolean',
    default: true,
    description:
      "With glitchGate, a glitch is also known by the value it reads: a lone excursion that reads what the agreeing ones read (their values within half the shallowest one's depth) is a known glitch at any depth of at least half that one's, since a loose connector reads near 0 V wherever the level is; and an excursion is lone also when its neighbours lie within a tenth of its distance (a cycle's own small dips beside it) (off in models written before it).",
  },
  {
    name: 'cycleGlitch',
    type: 'boolean',
    default: true,
    description:
      "With glitchGate, on a cycle the fault channels read deseasonalised, a known glitch is scored as the cycle's own value at its phase (the median of the readings whole periods before), not as the last normal reading, which held for one reading is a dent in a short cycle (off in models written before it).",
  },
  {
    name: 'levelRange',
    type: 'boolean',
    default: true,
    description:
      "After a fit on data without a cycle, the range channel alarms when the level smoothed over 2 s lies 8 spreads beyond every level the training part showed (a slow ramp the other channels follow); the alarmed level becomes the range's new edge, so a level that moved and stays alarms once (not with adaptLevel; off in models written before it).",
  },
  {
    name: 'levelTrend',
    type: 'boolean',
    default: true,
    description:
      "After a fit on data without a cycle, the trend channel alarms when the level smoothed over 2 s (8 readings on a slow stream) has moved, over the last 20, 40 or 80 s, 5 spreads of the training part's moves over that lag (a slow ramp on a wandering signal); once per move, a move's way back is the same event, and a stretch that held an alarm is no reference (not with adaptLevel; off in models written before it).",
  },
  {
    name: 'cycleTrend',
    type: 'boolean',
    default: true,
    description:
      "With levelTrend, after a fit on data with a cycle no longer than 20 s, the trend channel also runs on it, reading the mean of the last whole cycle of readings (the cycle averages out, a slow ramp stays). It alarms when the move reaches 5 spreads at two of its lags (a reference taken during a passing disturbance moves one), and a reading the spike channel calls a fault keeps it quiet for a cycle and the level's settling, as the cycle's mean holds that reading for a cycle (off in models written before it: no trend channel on a cycle).",
  },
  {
    name: 'cycleTrendLong',
    type: 'boolean',
    default: true,
    description:
      "With cycleTrend, the trend channel also runs on cycles of 20 to 40 s, not only up to 20 s: its move must reach the alarm at two lags, and its 40 and 80 s lags still compare whole cycles' levels; and its fit on a cycle needs 200 s of the cycle's levels, not 240 s (they start a cycle or two into the data) (off in models written before it: only cycles up to 20 s, and 240 s).",
  },
  {
    name: 'periodFence',
    type: 'boolean',
    default: true,
    description:
      "A fit infers the cycle with outliers pulled in to the training part's range (its 1st to 99th percentile widened by its width on either side): a loose wire's few readings near 0 V held most of the variance and hid a cycle of a few millivolts, which then stayed in the fault channels' residual (off in models written before it).",
  },
  {
    name: 'shapeNewNormal',
    type: 'boolean',
    default: true,
    description:
      "The shape channel takes a lasting change as the new normal once its anomalous windows fill 16 cycles, not only half its history: on a cycle spanning a whole number of readings (8 at 2 Hz), a change that moved the cycle's phase by part of a reading left every later window sampled at other points of the cycle, and the channel at alarm level, its alarms echoes, for 32 cycles, while the trend channel took no reference and missed a ramp (off in models written before it).",
  },
  {
    name: 'trendRearm',
    type: 'boolean',
    default: true,
    description:
      "With levelTrend, a gap that restarts the trend channel's level (readings missing, or a stuck run or a dropout it skips, for 10 s) also arms the channel: the move that last alarmed it is no longer measured, and a ramp starting within 80 s of the restart is heard (off in models written before it: the channel stayed quiet until every lag had a reference again and showed a small move).",
  },
  {
    name: 'cycleHoldSize',
    type: 'boolean',
    default: true,
    description:
      "With cycleTrend, a reading the spike channel calls a fault keeps the trend channel quiet only when its distance from the expected value, spread over the cycle's readings, moves the cycle's mean by at least one spread of the channel's 20 s moves (a loose wire's glitch does; the noise of a ramp, which the spike channel also sees, does not) (off in models written before it: every such reading kept it quiet).",
  },
  {
    name: 'exceedance',
    type: 'boolean',
    default: true,
    description:
      "After a fit on data without a cycle (not before a first fit or self-fit), the fault channels also count how many of the last readings (up to 32, at most 4 s of them) lie beyond 2.5 robust σ of the median of the last 32 above and below, against how often they do; from a tail probability of 1e-8 that alarms (channel exceed): an oscillation or a noise burst in heavy-tailed noise, whose outliers count once however large (not with adaptLevel; off in models written before it).",
  },
  {
    name: 'exceedTrained',
    type: 'boolean',
    default: true,
    description:
      'With exceedance, the count alarms from the rarer of 1e-8 and ten times rarer than the rarest count the training data reached: bursts of interference the training part held are normal for this device (off in models written before it: always from 1e-8).',
  },
  {
    name: 'shortFit',
    type: 'boolean',
    default: true,
    description: `fit accepts ${SHORT_FIT_MIN} readings or more (a 5-minute recording at 1 Hz is enough): on fewer than ${LONG_FIT_MIN - 100} the novelty member learns from what the hold-out leaves, with a warm-up of half of it, and on fewer than the point channel's AR model needs, that model has as many lags as they support (off in models written before it: ${LONG_FIT_MIN} readings were needed).`,
  },
  {
    name: 'holdoutGuard',
    type: 'boolean',
    default: true,
    description: `fit refuses (insufficient-data) a recording whose readings all hold one value, and a model whose own hold-out alarms on more than ${HOLDOUT_ALARMS_MAX * 100} % of its readings, rather than keep a model that alarms on everything; not a never-fitted stream's self-fits (off in models written before it: only a short fit is refused so, with shortFit).`,
  },
  {
    name: 'earlySelfFit',
    type: 'boolean',
    default: true,
    description: `A never-fitted stream too slow to reach selfFit readings in ${EARLY_SELF_FIT_MS / 60_000} minutes fits itself once when its readings span that long; the fit is provisional: what it alarms on does not cut the next self-fit short (selfFitQuiet) (off in models written before it: the first self-fit came at selfFit readings).`,
  },
  {
    name: 'newExtremes',
    type: 'boolean',
    default: true,
    description:
      "Never fitted, on a slow stream (readings more than 10 s apart, which never fits itself): from the 300th reading, a value beyond every value seen so far by 3 % of their range alarms (channel extreme), then the channel rests 100 readings; the range is the stream's own, never a file's minimum or maximum (off in models written before it).",
  },
  {
    name: 'budgetHz',
    type: 'number',
    default: 10,
    min: 0,
    max: 10_000,
    description: `When > 0 and fit is not given targetFalseAlarmRate: falseAlarmRate holds per reading for streams read at up to this rate, and per unit of time for faster ones (its share of each reading falls with the rate, to at most ${1 / MIN_BUDGET_SHARE} times less): a 100 Hz stream gets no more false alarms an hour than a 10 Hz one (0: per reading at every rate, as in models written before it).`,
  },
  {
    name: 'falseAlarmRate',
    type: 'number',
    default: 0.0001,
    min: 1e-6,
    max: 0.5,
    description: 'Per-reading false-alarm target of the calibration in fit when fit is not given targetFalseAlarmRate.',
  },
  {
    name: 'selfFit',
    type: 'integer',
    default: 1024,
    min: 0,
    max: 1_000_000,
    description: `A detector that was never fitted fits itself on the readings it has seen after this many, and again at each doubling up to ${SELF_FIT_READINGS} (causal; 0: never, it keeps scoring online).`,
  },
  {
    name: 'selfFitSpan',
    type: 'boolean',
    default: true,
    description: `Self-fits go on doubling beyond ${SELF_FIT_READINGS} readings (up to ${SELF_FIT_MAX}) while the readings seen span less than ${SELF_FIT_SPAN_MS / 60_000} minutes: at 20 Hz and faster ${SELF_FIT_READINGS} readings are too short a sample of normal (off in models written before it).`,
  },
  {
    name: 'selfFitQuiet',
    type: 'boolean',
    default: true,
    description:
      'A self-fit learns nothing from what the fit before it alarmed on: once a self-fit over at least 2 minutes of readings has alarmed, the next one uses only the readings up to 30 s before that first alarm (skipped when that is less than half again as many as the last fit used) and replays the rest (off in models written before it: every self-fit used every reading seen).',
  },
  {
    name: 'selfFitTrend',
    type: 'boolean',
    default: true,
    description: `With selfFitQuiet, a self-fit cut short by an alarm still runs, with less than half again as many readings as the last one, when it is the first to span the ${TREND_MIN_SPAN_MS / 60_000} minutes the trend channel learns from (off in models written before it: such a fit was skipped, and the stream kept a model without the trend channel).`,
  },
  {
    name: 'adaptLevel',
    type: 'boolean',
    default: false,
    description: "After fit (or resume), re-baseline to the live device's level and noise scale before scoring (shape models used on any device: the presets).",
  },
] as const satisfies readonly DetectorParamSpec[];

const descriptor: DetectorDescriptor = {
  kind: KIND,
  description:
    'The default: fault channels (point residual from a rolling median and the last few readings, level, drift, variance, stuck, dropout) and a novelty channel (unexpected transitions), combined and calibrated; learns online or from normal data. Reports the expected value, a normal band and the channel that fired.',
  trainable: true,
  online: true,
  params: [...PARAM_SPECS],
};

interface Members {
  robust: RobustDetector;
  context: ContextDetector;
  shape: SubsequenceChannel;
  /** Present when `fit` found a cycle: the fault channels then see the readings with the cycle removed. */
  seasonal?: SeasonalRemover;
}

/** Cycles averaged into the seasonal shape, and whole cycles remembered before the fault channels score after a pause. */
const SEASONAL_CYCLES = 5;
const SEASONAL_MIN_CYCLES = 3;

export class AutoDetector implements Detector {
  readonly kind = KIND;
  readonly trainable = true;
  readonly minFitSamples: number;
  threshold: number;
  /** Calibration of the fault channels' log-odds (after fit). */
  private calibration: Calibration | undefined;
  /**
   * Never fitted: the readings seen so far (at most the last SELF_FIT_MAX), on which the detector
   * fits itself after `selfFit` readings and again at each doubling (see `moreFits`).
   */
  private seen: SeenReadings | undefined;
  /** Calibration of the novelty channel's log-odds (after fit). */
  private noveltyCalibration: Calibration | undefined;
  /** Calibration of the shape channel's log-odds (after fit). */
  private shapeCalibration: Calibration | undefined;
  private metrics: Record<string, number> = {};
  private peak = 0;
  private peakAge = 0;
  private readonly onlineShift = ONLINE_SHIFT;
  private peakChannel = '';
  /** The last shape alarm's log-odds and the readings since (see `score`). */
  private shapePeak = 0;
  private shapeAge = Number.MAX_SAFE_INTEGER;
  /** The current incident (see the `episode` parameter): when it ends (reading time, ms), its largest alarm's log-odds and that alarm's channel. */
  private episodeEnd = Number.NEGATIVE_INFINITY;
  private episodePeak = 0;
  private episodeChannel = '';
  private readonly episodeMs: number;
  /** The incident's last alarm-level reading that alarmed (not an echo), for `ownRuns`. */
  private runTs = Number.NEGATIVE_INFINITY;
  /** The largest distance from the expected value among the incident's own alarms (`ownRuns`). */
  private runDeviation = 0;
  private readonly ownRuns: boolean;
  private readonly holdoffBreak: boolean;
  private readonly selfFitQuiet: boolean;
  private readonly pointEchoOfShape: boolean;
  private readonly echoRuns: boolean;
  /** `levelClip`: the level channel may take over the run a lone reading's spike or swing alarm began. */
  private readonly levelTakesOver: boolean;
  private readonly spikeBar: boolean;
  private readonly spikePairs: boolean;
  private readonly cycleImpute: boolean;
  /** Median spacing of the training readings (ms; 0 when unknown) and the last timestamp seen, for gaps in a cycle. */
  private sampleInterval = 0;
  private lastTs: number | undefined;

  constructor(
    readonly params: Params,
    readonly seed: number,
    threshold: number,
    private members: Members,
  ) {
    this.threshold = threshold;
    this.episodeMs = (params.episode as number) * 1000;
    this.pointEchoOfShape = params.pointEchoOfShape === true;
    this.echoRuns = params.echoRuns === true;
    this.ownRuns = params.ownRuns === true;
    this.holdoffBreak = params.holdoffBreak === true;
    this.selfFitQuiet = params.selfFitQuiet === true;
    // Only where the fault member clips: elsewhere the level channel sees a shift's first reading in
    // full, and its later alarms stay the incident's echoes.
    this.levelTakesOver = levelClipOf(params) > 0;
    this.spikeBar = params.spikeBar === true;
    this.spikePairs = params.spikePairs === true;
    this.cycleImpute = params.cycleImpute === true;
    if ((params.selfFit as number) > 0) this.seen = { ts: [], value: [], total: 0, alarmTs: Number.NaN, fitCount: 0, fitSpan: 0 };
    this.minFitSamples =
      params.shortFit === true
        ? Math.max(SHORT_FIT_MIN, Math.ceil(members.robust.minFitSamples / 0.75))
        : Math.ceil(Math.max(members.robust.minFitSamples, members.context.minFitSamples) / 0.75) + 100;
  }

  fit(normal: readonly Reading[], options: FitOptions = {}): Promise<FitReport> {
    return runStepsAsync(this.fitSteps(normal, options));
  }

  /** The fit as steps (see `FitSteps`), shared by `fit` and the self-fit of an unfitted detector. */
  private *fitSteps(raw: readonly Reading[], options: FitOptions = {}, continuing = false): FitSteps<FitReport> {
    assertEnoughData(KIND, raw, this.minFitSamples);
    // `holdoutGuard`: one value throughout says nothing of the signal's noise (a disconnected input
    // reads one code); its model would call the first other reading, or a long enough run, a fault.
    // A user's fit only: a self-fit refused stops the stream's later self-fits (see `remember`).
    const only = this.params.holdoutGuard === true && !continuing ? oneValueOf(raw) : undefined;
    if (only !== undefined) {
      throw new DetectorError(
        'insufficient-data',
        `${KIND} cannot learn a signal's normal from ${raw.length} readings that all read ${Number.isNaN(only) ? 'nothing' : only}: check that the sensor is connected and record it while it reads its normal signal.`,
        { minimum: this.minFitSamples, got: raw.length },
      );
    }
    // Known glitches (`glitchGate`): a first pass learns the lone excursions of the whole training
    // part, a second scores the last normal value in place of each known one; the gate goes on live.
    let normal = raw;
    this.glitch = undefined;
    // With adaptLevel a model scores other devices than it was trained on, whose glitches (in volts) it never saw.
    if (this.params.glitchGate === true && this.params.adaptLevel !== true) {
      const gate = new GlitchGate({ byValue: this.params.glitchValues === true });
      for (const r of raw) gate.filter(r.value);
      normal = raw.map((r) => {
        const v = gate.filter(r.value);
        return v === r.value || Number.isNaN(v) ? r : { ts: r.ts, value: v };
      });
      gate.learning = false;
      this.glitch = gate;
    }
    this.seen = undefined;
    this.range = undefined;
    this.trend = undefined;
    this.states = undefined;
    this.exceedBar = EXCEED_ALARM;
    this.extremes = undefined;
    throwIfAborted(options.signal);
    const nHold = holdoutSize(normal.length, options.holdoutFraction);
    const train = normal.slice(0, normal.length - nHold);
    const hold = normal.slice(normal.length - nHold);
    const given = options.targetFalseAlarmRate;
    let far = given ?? (this.params.falseAlarmRate as number);
    const metrics: Record<string, number> = {};
    const { context, shape } = this.members;
    this.calibration = undefined;
    this.noveltyCalibration = undefined;
    this.shapeCalibration = undefined;
    // The shape channel learns the cycle and its normal distance scale from the training part.
    // With `periodFence` its cycle is inferred with outliers pulled in (a loose wire's glitches).
    shape.fit(train.map((r) => r.value), { fence: this.params.periodFence === true });
    // On a cycle, the fault channels judge departures from the cycle, not the cycle itself.
    this.sampleInterval = medianInterval(train);
    // `budgetHz`: the default target is per reading up to budgetHz and per unit of time above it.
    if (given === undefined) far *= budgetShare(this.params.budgetHz as number, this.sampleInterval);
    this.lastTs = undefined;
    // On a cycle, the level of the last whole cycle at each reading (`cycleTrend`), training and hold-out.
    const cycleLevels: Reading[] = [];
    // `knownStates`: the levels a switching signal sits at (a relay's), learned from the training
    // part; the fault channels then judge each reading's distance from its state's level, not a cycle.
    if (this.params.knownStates === true && this.params.adaptLevel !== true) this.states = KnownStates.fit(train.map((r) => r.value), quantumOf(normal));
    const faultTrain = this.states ? this.stateResiduals(train, this.states) : this.deseasonalised(train, shape.period, cycleLevels);
    const robust = this.members.robust;
    const memberOptions = (i: number, kind: string): FitOptions => ({
      signal: options.signal,
      targetFalseAlarmRate: Math.max(far, 0.001),
      onProgress: (p, stage) => options.onProgress?.((i + p) / 3, `${kind}: ${stage}`),
    });
    const reports = [robust.fitNow(faultTrain.readings, memberOptions(0, robust.kind), faultTrain.moved)];
    // `arPoint`: the autoregressive point channel, unless the fault member found heavy-tailed noise
    // (whose two-reading spikes `spikePairs` finds; one reading is what the tail allows).
    this.arPoint = undefined;
    if (this.params.arPoint === true && this.params.adaptLevel !== true && !robust.hasSpikeTail) {
      const values = normal.map((r) => r.value);
      this.arPoint = ArPoint.fit(values.slice(0, train.length), values, this.sampleInterval, quantumOf(normal), arOrderFor(this.params, train.length), AR_MIN_Z, AR_FACTOR);
      this.arPoint?.prime(values, (normal.at(-1) as Reading).ts);
    }
    yield;
    // `shortFit`: too short a training part for the novelty member's warm-up: one with a warm-up of half of it.
    if (this.params.shortFit === true && train.length < context.minFitSamples) {
      const warmup = Math.max(10, Math.floor(train.length / 2));
      this.members.context = createContext(this.params, this.seed, warmup);
    }
    const novelty = this.members.context;
    reports.push(yield* novelty.fitSteps(train, memberOptions(1, novelty.kind)));
    for (const [i, rep] of reports.entries()) for (const [k, v] of Object.entries(rep.metrics)) metrics[`${i === 0 ? robust.kind : novelty.kind}.${k}`] = v;
    throwIfAborted(options.signal);
    options.onProgress?.(2 / 3, 'calibrating');
    yield;
    // The hold-out follows the training part directly: no pause, so no re-baselining. Each
    // channel group is calibrated on it separately (half the false-alarm budget each), so a
    // channel whose normal scores have a heavy tail must be correspondingly more surprised.
    const rawFault: number[] = [];
    const rawNovelty: number[] = [];
    const rawShape: number[] = [];
    const c = this.combined;
    // `exceedTrained`: the largest count surprise of the training data, the hold-out included.
    let exceedMax = robust.exceedMax;
    for (const r of hold) {
      const ok = this.combine(r);
      const known = this.known;
      if (robust.exceedSurprise > exceedMax) exceedMax = robust.exceedSurprise;
      if (Number.isFinite(this.cycleLevel)) cycleLevels.push({ ts: r.ts, value: this.cycleLevel });
      if (ok) {
        // On a reading in a known state only the stuck, dropout and collapse channels can alarm: its
        // fault score is theirs. The novelty member calibrates on every reading (a relay's few
        // readings off its levels would be too few to calibrate it for them).
        rawFault.push(known ? logit(robust.stateScore) + (this.params.faultBias as number) : c.fault);
        rawNovelty.push(c.novelty);
        rawShape.push(c.shape);
      }
    }
    this.exceedBar = this.params.exceedTrained === true ? Math.max(EXCEED_ALARM, exceedMax + EXCEED_TRAINED_MARGIN) : EXCEED_ALARM;
    this.peak = 0;
    this.peakAge = 0;
    this.peakChannel = '';
    this.shapePeak = 0;
    this.shapeAge = Number.MAX_SAFE_INTEGER;
    this.episodeEnd = Number.NEGATIVE_INFINITY;
    this.episodePeak = 0;
    this.episodeChannel = '';
    this.runTs = Number.NEGATIVE_INFINITY;
    this.runDeviation = 0;
    // Live data follows after a pause: the members must not call it a dropout (and re-baseline when
    // asked). A self-fit continues the stream it has just seen: no pause. The cycle's phase is kept
    // with the hold-out's last timestamp: live data that continues the training clock (a
    // recording's next part, a backtest) keeps it, a pause up to the seasonal memory is stepped
    // over like any gap in the timestamps, and a longer one forgets it (see `combine`).
    if (!continuing) this.members.robust.resume();
    // The range channel learns the levels of every normal reading (not calibrated: it alarms at a
    // fixed distance, see RANGE_ALARM). With adaptLevel the device's level is not the training's;
    // on a cycle the level swings with it.
    if (this.params.levelRange === true && this.params.adaptLevel !== true && !this.members.seasonal) {
      this.range = LevelRange.fit(normal);
      if (!continuing) this.range?.restart();
    }
    // The trend channel learns how far the level moves over its lags (not calibrated either: it
    // alarms at a fixed distance, see TREND_ALARM).
    if (this.params.levelTrend === true && this.params.adaptLevel !== true && !this.members.seasonal) {
      this.trend = LevelTrend.fit(normal, TREND_ALARM, { rearm: this.params.trendRearm === true });
      if (!continuing) this.trend?.restart();
    } else if (this.params.levelTrend === true && this.params.cycleTrend === true && this.params.adaptLevel !== true && this.cycleTrendApplies()) {
      // On a short cycle it reads the level averaged over the last whole cycle (`cycleTrend`).
      // `cycleTrendLong`: the cycle's levels start a cycle or two into the data, so they need span less (CYCLE_TREND_MIN_SPAN_MS).
      const minSpan = this.params.cycleTrendLong === true ? { minSpanMs: CYCLE_TREND_MIN_SPAN_MS } : {};
      this.trend = LevelTrend.fit(cycleLevels, TREND_ALARM, { quantum: quantumOf(normal), lags: 2, rearm: this.params.trendRearm === true, ...minSpan });
      if (!continuing) this.trend?.restart();
    }
    // The false-alarm budget is shared by the groups that can speak: the shape channel only on a cycle.
    const groups = rawShape.filter(Number.isFinite).length >= 20 ? 3 : 2;
    const fitCal = (raw: number[]): Calibration | undefined => {
      const finite = raw.filter(Number.isFinite);
      if (finite.length < 20) return undefined;
      const cal = fitTailCalibration(finite, far / groups);
      return { ...cal, scale: Math.max(cal.scale, 0.05) };
    };
    this.calibration = fitCal(rawFault);
    // `faultFloor`: a hold-out on which the fault member was all but silent (the residual of a
    // cycle that repeats exactly never moves) would put the bar at that silence.
    if (this.calibration && this.params.faultFloor === true) this.calibration = { ...this.calibration, center: Math.max(this.calibration.center, FAULT_FLOOR) };
    const nov = fitCal(rawNovelty);
    // The novelty channel's hold-out rarely holds a new pattern, so its tail says little: it must
    // at least be clearly surprised (its own score well past its alarm point) to alarm.
    this.noveltyCalibration = nov && { ...nov, center: Math.max(nov.center, NOVELTY_FLOOR) };
    const shp = fitCal(rawShape);
    this.shapeCalibration = shp && { ...shp, center: Math.max(shp.center, SHAPE_FLOOR) };
    // Without its calibration the shape channel cannot speak until the next fit (see `mix`).
    if (!this.shapeCalibration) shape.sleep();
    else {
      // Calibrated, the channel is fitted again on every normal reading, the hold-out too, keeping
      // the distance scale its calibration was measured on: its history and reference cycles then
      // end where live data begins (decision 0014). A fit that finds another cycle is not used.
      const whole = new SubsequenceChannel(shapeOptions(this.params));
      whole.fit(normal.map((r) => r.value));
      if (whole.adoptScaleOf(shape)) this.members.shape = whole;
    }
    let alarms = 0;
    for (let i = 0; i < rawFault.length; i++) {
      this.mix(rawFault[i] as number, rawNovelty[i] as number, rawShape[i] as number);
      if (sigmoid(this.mixed.logit) >= this.threshold) alarms++;
    }
    const short = this.params.shortFit === true && normal.length < LONG_FIT_MIN;
    if ((short || (this.params.holdoutGuard === true && !continuing)) && alarms > HOLDOUT_ALARMS_MAX * rawFault.length) {
      this.calibration = this.noveltyCalibration = this.shapeCalibration = undefined;
      const what = `${KIND} could not learn this signal's normal from ${normal.length} readings (its own hold-out alarmed on ${Math.round((100 * alarms) / rawFault.length)} % of them)`;
      const advice = short ? `record longer: ${LONG_FIT_MIN} readings or more.` : 'check that the recording holds the normal signal of a working sensor.';
      throw new DetectorError('insufficient-data', `${what}; ${advice}`, { minimum: short ? LONG_FIT_MIN : this.minFitSamples, got: normal.length });
    }
    this.metrics = {
      ...metrics,
      holdout_rows: rawFault.length,
      holdout_false_alarm_rate: alarms / Math.max(1, rawFault.length),
      fault_center: this.calibration?.center ?? 0,
      novelty_center: this.noveltyCalibration?.center ?? 0,
      shape_center: this.shapeCalibration?.center ?? 0,
      period: shape.period ?? 0,
      seasonal_period: this.members.seasonal?.period ?? 0,
    };
    options.onProgress?.(1, 'calibrated');
    const notes = short
        ? [`Fitted on a short recording (${normal.length} readings): ${LONG_FIT_MIN} or more (15 minutes at 1 Hz) teach the model more of the signal's normal, with fewer false alarms.`]
        : [];
    return { kind: KIND, samples: normal.length, threshold: this.threshold, metrics: { ...this.metrics }, ...(notes.length > 0 && { notes }) };
  }

  resume(): void {
    this.members.robust.resume();
    this.range?.restart();
    this.trend?.restart();
    // After a pause the phase of the next reading is unknown: learn the cycle's shape again.
    this.members.seasonal?.reset();
    this.lastTs = undefined;
  }

  /**
   * When the training part has a cycle that fits the seasonal memory, sets up the seasonal
   * remover and returns the training readings with the cycle removed (the first cycles, before
   * its shape is known, are left out), adding each one's cycle level (the mean of the last whole
   * cycle) to `cycleLevels`; otherwise drops any remover and returns the readings. With
   * `cycleRepeatsRaw`, `moved` says, for each reading returned with the cycle removed, whether its
   * raw value moved from the one before (see the fault member's `score`; absent: none did).
   */
  private deseasonalised(train: readonly Reading[], period: number | undefined, cycleLevels: Reading[]): FaultTraining {
    this.members.seasonal = undefined;
    this.members.robust = createRobust(this.params, this.seed, undefined, true);
    if (period === undefined || !SeasonalRemover.fits(period, SEASONAL_CYCLES)) return { readings: train };
    const remover = new SeasonalRemover(period, SEASONAL_CYCLES, this.params.cycleLevelFree === true);
    const out: Reading[] = [];
    const moved: boolean[] = [];
    let last: number | undefined;
    const dt = this.sampleInterval;
    for (const r of train) {
      if (dt > 0 && last !== undefined && r.ts - last > 1.5 * dt) remover.skip(Math.round((r.ts - last) / dt) - 1);
      if (last === undefined || r.ts > last) last = r.ts;
      const rawMoved = r.value !== remover.lastInput;
      const d = remover.push(r.value, SEASONAL_MIN_CYCLES);
      if (!d.ready) continue;
      out.push({ ts: r.ts, value: d.value });
      moved.push(rawMoved);
      const level = remover.cycleMean();
      if (Number.isFinite(level)) cycleLevels.push({ ts: r.ts, value: level });
    }
    if (out.length < this.members.robust.minFitSamples) return { readings: train };
    this.members.seasonal = remover;
    this.members.robust = createRobust(this.params, this.seed, cycleSecondsOf(period, dt), true);
    this.lastTs = last;
    return { readings: out, ...(this.params.cycleRepeatsRaw === true && { moved }) };
  }

  /**
   * `knownStates`: with no cycle removed (`deseasonalised` drops the remover), the training
   * readings as their distances from their states' levels, and for each whether the reading itself
   * moved from the one before (see the fault member's `score`). The states are left where training
   * ended: the hold-out and live readings continue from there.
   */
  private stateResiduals(train: readonly Reading[], states: KnownStates): FaultTraining {
    this.deseasonalised(train, undefined, []);
    const moved: boolean[] = [];
    const readings = train.map((r) => {
      states.push(r.value);
      moved.push(states.moved);
      return { ts: r.ts, value: states.residual };
    });
    return { readings, moved };
  }

  /** Known glitches (`glitchGate`), from the last fit; undefined before one. */
  private glitch: GlitchGate | undefined;
  /** The autoregressive point channel (`arPoint`), from the last fit on data without heavy-tailed noise; undefined otherwise. */
  private arPoint: ArPoint | undefined;
  /** The training part's levels (`levelRange`), from the last fit without a cycle; undefined before one. */
  private range: LevelRange | undefined;
  /** The training part's level moves (`levelTrend`), from the last fit without a cycle or (`cycleTrend`) with a short one; undefined before one. */
  private trend: LevelTrend | undefined;
  /** The levels a switching signal sits at (`knownStates`), from the last fit that found them; undefined otherwise. */
  private states: KnownStates | undefined;
  /** Whether the last reading `combine` took lies in a known state (or a transition between two). */
  private known = false;
  /** The surprise from which the exceedance count alarms: EXCEED_ALARM, or (`exceedTrained`) past the training data's largest. */
  private exceedBar = EXCEED_ALARM;
  /** On a cycle, the mean of the last whole cycle of readings after `combine` (NaN while the cycle's shape is not known). */
  private cycleLevel = Number.NaN;
  /** `newExtremes`: a never-fitted slow stream's range so far (see NewExtremes); undefined otherwise. */
  private extremes: NewExtremes | undefined;
  /** The last `combine` (reused: one per detector, not one per reading). */
  private readonly combined: Combined = { fault: 0, novelty: 0, shape: 0, faultScore: QUIET, noveltyScore: undefined, seasonal: 0 };
  /** `logit(threshold)`, kept for the threshold it was computed from (callers may set `threshold`). */
  private readonly thresholdLogitOf = { threshold: Number.NaN, logit: 0 };
  private thresholdLogit(): number {
    const c = this.thresholdLogitOf;
    if (c.threshold !== this.threshold) {
      c.threshold = this.threshold;
      c.logit = logit(this.threshold);
    }
    return c.logit;
  }
  /** The last `mix`. */
  private readonly mixed: { logit: number; group: 'fault' | 'novelty' | 'shape' } = { logit: 0, group: 'fault' };

  /** Whether readings are missing before one at `ts` (a gap of more than 1.5 sample intervals), which moves a cycle's phase. */
  private gapBefore(ts: number): boolean {
    const dt = this.sampleInterval;
    return dt > 0 && this.lastTs !== undefined && ts - this.lastTs > 1.5 * dt;
  }

  /**
   * Scores both members into `combined`: their log-odds (after the per-member bias), the member
   * scores; false while the fault member re-baselines or warms up.
   */
  private combine(reading: Reading): boolean {
    const { robust, context, shape, seasonal } = this.members;
    let faultReading = reading;
    let warming = false;
    let rawMoved = false;
    const states = this.states;
    this.known = states !== undefined && states.push(reading.value);
    if (states) {
      faultReading = { ts: reading.ts, value: states.residual };
      rawMoved = states.moved;
    } else if (seasonal) {
      // Missing readings (a gap in the timestamps) would shift the phase: step over them.
      if (this.gapBefore(reading.ts)) seasonal.skip(Math.round((reading.ts - (this.lastTs as number)) / this.sampleInterval) - 1);
      if (this.lastTs === undefined || reading.ts > this.lastTs) this.lastTs = reading.ts;
      // `cycleRepeatsRaw`: a repeat of the residual counts as the sensor repeating only when the reading did.
      rawMoved = this.params.cycleRepeatsRaw === true && reading.value !== seasonal.lastInput;
      const d = seasonal.push(reading.value, SEASONAL_MIN_CYCLES);
      faultReading = { ts: reading.ts, value: d.value };
      warming = !d.ready;
    }
    this.cycleLevel = seasonal && !warming ? seasonal.cycleMean() : Number.NaN;
    if (warming) {
      // Until the cycle's shape is known again the fault channels wait; the others keep their
      // history. The gap that made the cycle's phase unknown is still judged as it comes: it is a
      // dropout, and the fault channels would only see it when they resume, three cycles late.
      const mapped = robust.trainingFrameValue(reading.value);
      if (mapped !== undefined) {
        context.scoreBrief({ ts: reading.ts, value: Number.isFinite(reading.value) ? mapped : reading.value });
        shape.update(mapped);
      }
      const gap = robust.scoreGap(reading);
      if (gap.anomaly_score <= 0) return false;
      const c = this.combined;
      c.fault = logit(gap.anomaly_score) + (this.params.faultBias as number);
      c.novelty = -Infinity;
      c.shape = -Infinity;
      c.faultScore = gap;
      c.noveltyScore = undefined;
      c.seasonal = 0;
      return true;
    }
    const faultScore = robust.score(faultReading, rawMoved);
    // A stuck sensor's or a dropout's readings are not the cycle: the cycle's shape remembers its
    // own value at their phase instead, so it does not learn them and answer with spikes once the
    // signal is back (`cycleImpute`).
    if (seasonal && this.cycleImpute && (robust.parts.stuck >= IMPUTE_SURPRISE || robust.parts.dropout >= IMPUTE_SURPRISE)) seasonal.amendNewest();
    const mapped = robust.trainingFrameValue(reading.value);
    // While re-baselining, the novelty and shape channels wait for the device's level (they would see every reading as new).
    const noveltyScore = mapped === undefined ? undefined : context.scoreBrief({ ts: reading.ts, value: Number.isFinite(reading.value) ? mapped : reading.value });
    const shapeRaw = mapped === undefined ? 0 : shape.update(mapped);
    if (!robust.warmedUp) return false;
    const c = this.combined;
    c.fault = logit(faultScore.anomaly_score) + (this.params.faultBias as number);
    c.novelty = noveltyScore && noveltyScore.anomaly_score > 0 ? logit(noveltyScore.anomaly_score) + (this.params.noveltyBias as number) : -Infinity;
    // Without a cycle the channel's fixed-length windows are discords of noise: it speaks only on periodic data.
    c.shape = shape.ready && shape.periodic && shapeRaw > 0 ? SHAPE_SLOPE * Math.log(shapeRaw / SHAPE_CENTER) + (this.params.shapeBias as number) : -Infinity;
    c.faultScore = faultScore;
    c.noveltyScore = noveltyScore;
    c.seasonal = states ? states.reference : (seasonal?.seasonal ?? 0);
    return true;
  }

  /**
   * The combined log-odds (each group through its own calibration after fit) and the group that
   * won, into `mixed`; `cycleFault` is added to the fault group's calibrated log-odds (see `cycleVarianceBias`).
   */
  private mix(fault: number, novelty: number, shape: number, cycleFault = 0): void {
    let f = (this.calibration ? logit(calibrate(fault, this.calibration)) : fault) + cycleFault;
    // On a cycle the fault channels read the deseasonalised residual, whose near misses (a beat a
    // little early, an edge a little late) are noisier evidence than the shape channel's. Below the
    // threshold they step back (`cycleQuietBias`), so the highest score of a quiet stretch points at
    // the changed cycle; at or above it nothing changes, so neither do alarms (decision 0014).
    if (this.shapeCalibration && f < this.thresholdLogit()) f += this.params.cycleQuietBias as number;
    // On periodic data the novelty channel's sub-threshold noise outranked the shape channel's
    // evidence of a distorted cycle (12 of 19 wrong periodic dev series, decision 0014).
    const n = (this.noveltyCalibration ? logit(calibrate(novelty, this.noveltyCalibration)) : novelty) + (this.shapeCalibration ? (this.params.cycleNoveltyBias as number) : 0);
    // The shape channel speaks only after a fit found a cycle in the training data: a cycle it finds
    // online in aperiodic data (noise, NAB's business series) has no calibration and alarms on noise.
    const h = this.shapeCalibration ? logit(calibrate(shape, this.shapeCalibration)) : -Infinity;
    const m = this.mixed;
    if (h > f && h > n) {
      m.logit = h;
      m.group = 'shape';
    } else if (n > f) {
      m.logit = n;
      m.group = 'novelty';
    } else {
      m.logit = f;
      m.group = 'fault';
    }
  }

  score(reading: Reading): Score {
    // A known glitch is scored as the last normal reading (see GlitchGate), on a cycle as the cycle's value there.
    let v = this.glitch ? this.glitch.filter(reading.value) : reading.value;
    // On a cycle the last normal value is no stand-in: held for one reading, it is a dent in the
    // cycle that the shape channel alarms on. The cycle's own value at that phase is (unless a gap
    // in the timestamps has moved the phase).
    if (v !== reading.value && !Number.isNaN(v) && this.members.seasonal && this.params.cycleGlitch === true && !this.gapBefore(reading.ts)) {
      const cycle = this.members.seasonal.next();
      if (Number.isFinite(cycle)) v = cycle;
    }
    const score = this.scoreOne(v === reading.value || Number.isNaN(v) ? reading : { ts: reading.ts, value: v });
    if (this.seen) this.remember(reading, score.is_anomaly);
    return score;
  }

  /** Whether a self-fit comes after the one at `n` readings (see SELF_FIT_READINGS). */
  private moreFits(n: number, seen: SeenReadings): boolean {
    if (n * 2 <= SELF_FIT_READINGS) return true;
    if (n * 2 > SELF_FIT_MAX || this.params.selfFitSpan !== true) return false;
    return (seen.ts.at(-1) as number) - (seen.ts[0] as number) < SELF_FIT_SPAN_MS;
  }

  /** A slow stream never fits itself: it keeps no readings, and (`newExtremes`) its range channel starts from them. */
  private slowStream(seen: SeenReadings): void {
    this.seen = undefined;
    if (seen.value.length > 0) this.extremes = NewExtremes.of(seen.value);
  }

  /**
   * Never fitted: keeps the reading and, at `selfFit` readings and each doubling (see
   * `moreFits`), fits afresh on what it has seen (causal: only past readings), continuing the
   * stream without a pause. Until then the detector scores online, as before. With `selfFitQuiet`
   * a trusted self-fit's alarms stay out of the next one (see {@link quietPart}).
   */
  private remember(reading: Reading, alarm: boolean): void {
    const seen = this.seen as SeenReadings;
    if (!Number.isFinite(reading.value) || !Number.isFinite(reading.ts)) return;
    if (alarm && this.selfFitQuiet && seen.fitSpan >= QUIET_TRUSTED_MS && !seen.provisional && !Number.isFinite(seen.alarmTs)) seen.alarmTs = reading.ts;
    seen.ts.push(reading.ts);
    seen.value.push(reading.value);
    seen.total++;
    if (seen.ts.length > SELF_FIT_MAX) {
      seen.ts.splice(0, seen.ts.length - SELF_FIT_MAX);
      seen.value.splice(0, seen.value.length - SELF_FIT_MAX);
    }
    const first = this.params.selfFit as number;
    const n = seen.total;
    // `newExtremes`: a slow stream is known by its EXTREME_WARMUP-th reading, long before its first self-fit would be refused.
    if (n === EXTREME_WARMUP && n < first && this.params.newExtremes === true) {
      const interval = medianInterval(readingsOf(seen));
      if (interval > SELF_FIT_MAX_INTERVAL_MS) this.slowStream(seen);
      return;
    }
    // `earlySelfFit`: once, when the readings first span EARLY_SELF_FIT_MS before the first self-fit.
    const early =
      this.params.earlySelfFit === true &&
      n < first &&
      !seen.earlyTried &&
      n >= this.minFitSamples &&
      (seen.ts.at(-1) as number) - (seen.ts[0] as number) >= EARLY_SELF_FIT_MS;
    if (!early && (n < first || n < this.minFitSamples || n > SELF_FIT_MAX || !Number.isInteger(Math.log2(n / first)))) return;
    const normal = readingsOf(seen);
    // Sensor streams only: a thousand readings of a slow series (NAB's five-minute business metrics)
    // span days of changing behaviour, no sample of "normal" to calibrate on; those keep learning online.
    const interval = medianInterval(normal);
    if (!(interval > 0 && interval <= SELF_FIT_MAX_INTERVAL_MS)) {
      // Not for an early fit: a slow stream is known by its EXTREME_WARMUP-th reading or its first self-fit, as before.
      if (early) return;
      this.seen = undefined;
      if (interval > SELF_FIT_MAX_INTERVAL_MS && this.params.newExtremes === true) this.slowStream(seen);
      return;
    }
    if (early) seen.earlyTried = true;
    let fitOn = this.selfFitQuiet ? quietPart(normal, seen, this.params.selfFitTrend === true) : normal.length;
    // `knownStates`: alarms since the last self-fit are no reason to leave readings out when all of
    // them show more levels the signal keeps switching between than the model knows (a relay's
    // third level, or a first self-fit that saw one switch): the switches were the alarms.
    if (fitOn < normal.length && this.params.knownStates === true && this.params.adaptLevel !== true) {
      const all = KnownStates.fit(normal.slice(0, normal.length - holdoutSize(normal.length, undefined)).map((r) => r.value), quantumOf(normal));
      if (all && all.count > (this.states?.count ?? 0)) fitOn = normal.length;
    }
    if (fitOn === 0) {
      // Skipped: the model stays as it is; after the last doubling there is nothing more to keep.
      if (!this.moreFits(n, seen)) this.seen = undefined;
      return;
    }
    // An early fit is provisional: a few minutes of a slow stream are a small sample of its normal,
    // and what it alarms on must not keep the next self-fit (at selfFit readings) from using them.
    const keep = { ...seen, alarmTs: Number.NaN, fitCount: fitOn, fitSpan: (normal[fitOn - 1] as Reading).ts - (normal[0] as Reading).ts, provisional: early };
    const before = this.members;
    try {
      this.members = createMembers(this.params, this.seed);
      runStepsNow(this.fitSteps(fitOn < normal.length ? normal.slice(0, fitOn) : normal, {}, true));
      // The readings after the quiet part are scored again (not kept again), so the fitted members
      // continue the stream from the newest reading, as after a fit on everything.
      this.seen = undefined;
      for (let i = fitOn; i < normal.length; i++) this.score(normal[i] as Reading);
      this.seen = this.moreFits(n, seen) ? keep : undefined;
    } catch {
      // Data this fit cannot use (it checks its own minimums): keep scoring online, as before (after
      // a failed early fit the self-fits at selfFit readings still come).
      this.members = before;
      this.members.shape.sleep();
      this.seen = early ? seen : undefined;
      this.glitch = undefined;
      this.arPoint = undefined;
      this.range = undefined;
      this.trend = undefined;
      this.states = undefined;
      this.exceedBar = EXCEED_ALARM;
      this.calibration = this.noveltyCalibration = this.shapeCalibration = undefined;
    }
  }

  /**
   * `cycleTrend`: the fitted cycle is no longer than the trend channel's shortest lag, so the lags
   * see whole cycles' levels; with `cycleTrendLong`, no longer than its second lag, so the two lags
   * a move must reach can be the two that do.
   */
  private cycleTrendApplies(): boolean {
    const seasonal = this.members.seasonal;
    return seasonal !== undefined && this.sampleInterval > 0 && seasonal.period * this.sampleInterval <= cycleTrendLongestMs(this.params);
  }

  /**
   * The trend channel's move (see LevelTrend.push) for a reading: its value, or on a cycle the level
   * of the last whole cycle (`cycleTrend`). A cycle's level holds a spike or a loose wire's glitch
   * for a whole cycle, so a reading the spike channel calls a fault holds the channel's alarms
   * for that long (its glitch is not a move of the level). With `cycleHoldSize` only one that
   * moves the cycle's mean by a spread of the channel's shortest lag does: during a ramp on a cycle
   * the spike channel sees the ramp's noise readings too, and each of them held the ramp's alarm.
   */
  private pushTrend(trend: LevelTrend, reading: Reading, spike: number): number {
    const seasonal = this.members.seasonal;
    if (!seasonal) return trend.push(reading.ts, reading.value);
    if (Number.isNaN(this.cycleLevel)) return 0;
    if (spike >= IMPUTE_SURPRISE && (this.params.cycleHoldSize !== true || trend.spreads(this.cycleShare(reading.value, seasonal.period)) >= CYCLE_HOLD_SPREADS)) {
      trend.hold(reading.ts, seasonal.period * this.sampleInterval);
    }
    return trend.push(reading.ts, this.cycleLevel);
  }

  /** How far `value` moves the mean of a cycle of `period` readings from the expected value there (Infinity when none is known). */
  private cycleShare(value: number, period: number): number {
    const c = this.combined;
    const expected = c.faultScore.expected;
    return expected === undefined ? Number.POSITIVE_INFINITY : Math.abs(value - (expected + c.seasonal)) / Math.max(1, period);
  }

  private scoreOne(reading: Reading): Score {
    const combined = this.combine(reading);
    const known = this.known;
    // The range channel sees every reading but those the dropout or stuck channels call faults (a
    // 0 V dropout would take its edge down to 0 V), so its level stays current while the others warm up.
    let beyond = 0;
    const parts = this.members.robust.parts;
    if (this.range && !(parts.dropout >= IMPUTE_SURPRISE || parts.stuck >= IMPUTE_SURPRISE)) {
      beyond = this.range.push(reading.ts, reading.value);
      if (beyond >= RANGE_ALARM) this.range.extend();
    }
    const moved = this.trend && !(parts.dropout >= IMPUTE_SURPRISE || parts.stuck >= IMPUTE_SURPRISE) ? this.pushTrend(this.trend, reading, parts.spike) : 0;
    const extreme = this.extremes !== undefined && this.extremes.push(reading.value);
    const arZ = this.arPoint ? this.arPoint.push(reading.ts, reading.value, parts.dropout >= IMPUTE_SURPRISE || parts.stuck >= IMPUTE_SURPRISE) : 0;
    if (!combined) return { anomaly_score: 0, is_anomaly: false, confidence: 0, method: KIND, signal: 'none', channel: 'none' };
    const c = this.combined;
    // On a cycle the burst and collapse channels read the deseasonalised residual, whose variance
    // changes with the cycle's phase and tempo; a noise burst or an amplitude change of cycles is
    // the shape channel's to judge (its roughness and mean-removed distances, phase by phase).
    const fc = c.faultScore.channel;
    // `knownStates`: a reading in a level the signal is known to sit at (a relay's) is judged only
    // on what the level does not explain: the stuck, dropout and collapse channels, and the cycle's shape.
    const robust = this.members.robust;
    if (known) this.mix(logit(robust.stateScore) + (this.params.faultBias as number), -Infinity, c.shape);
    else this.mix(c.fault, c.novelty, c.shape, this.shapeCalibration && (fc === 'burst' || fc === 'collapse') ? (this.params.cycleVarianceBias as number) : 0);
    const m = this.mixed;
    const rangeLogit = beyond > 0 && !known ? this.thresholdLogit() + RANGE_SLOPE * (beyond - RANGE_ALARM) : -Infinity;
    // The range, trend and new-extremes channels score apart from the calibrated groups: the
    // largest score names the channel (a range score below its alarm distance does not hide a trend alarm).
    let own: '' | 'range' | 'trend' | 'extreme' | 'exceed' | 'spike' = '';
    // `spikeBar`: a clear point outlier alarms past the group's bar, only once calibrated (never
    // fitted, nothing says how this stream's point surprises run). It only lifts a reading the
    // groups kept under the bar, and leaves stuck and dropout readings (whose point surprise is
    // large too) to their own channels.
    // `spikePairs`: on heavy-tailed noise, two readings out on one side together (see the fault member's pairSpike).
    let spikeSurprise = this.spikePairs ? Math.max(parts.spike, this.members.robust.pairSpike) : parts.spike;
    // `arPoint`: a reading beyond the autoregressive channel's bar reaches the spike bar, by as much more as it is beyond.
    if (this.arPoint && arZ >= this.arPoint.bar) spikeSurprise = Math.max(spikeSurprise, (this.members.seasonal ? SPIKE_BAR_CYCLE : SPIKE_BAR) + (arZ - this.arPoint.bar));
    const lift = this.spikeBar && !known && this.calibration && spikeSurprise >= (this.members.seasonal ? SPIKE_BAR_CYCLE : SPIKE_BAR) && m.logit < this.thresholdLogit() && parts.dropout < IMPUTE_SURPRISE && parts.stuck < IMPUTE_SURPRISE && this.members.robust.quantaFromMedian >= SPIKE_BAR_QUANTA;
    const spikeLogit = lift ? this.thresholdLogit() + SPIKE_BAR_MARGIN + SPIKE_BAR_SLOPE * (spikeSurprise - SPIKE_BAR) : -Infinity;
    if (spikeLogit > m.logit) {
      m.logit = spikeLogit;
      m.group = 'fault';
      own = 'spike';
    }
    if (rangeLogit > m.logit) {
      m.logit = rangeLogit;
      m.group = 'fault';
      own = 'range';
    }
    const trendLogit = moved > 0 && !known ? this.thresholdLogit() + RANGE_SLOPE * (moved - TREND_ALARM) : -Infinity;
    if (trendLogit > m.logit) {
      m.logit = trendLogit;
      m.group = 'fault';
      own = 'trend';
    }
    // The exceedance count (`exceedance`; 0 when off) scores on the same scale, per unit of
    // surprise, from its alarm on only: below it, it outranked the shape channel's evidence of a
    // changed cycle in quiet stretches (with the count on cycles, the periodic benchmark fell from
    // 0.857 to 0.744), and it would rank NAB's scores too. With `exceedTrained` it speaks only past
    // what the training data's own bursts reached.
    const exceed = this.members.robust.exceedSurprise;
    const excLogit = exceed >= this.exceedBar && !known ? this.thresholdLogit() + RANGE_SLOPE * (exceed - this.exceedBar) : -Infinity;
    if (excLogit > m.logit) {
      m.logit = excLogit;
      m.group = 'fault';
      own = 'exceed';
    }
    // A new extreme of a never-fitted slow stream alarms (`newExtremes`), past the online shift below.
    const extremeLogit = extreme && !known ? this.thresholdLogit() + this.onlineShift + EXTREME_LOGIT : -Infinity;
    if (extremeLogit > m.logit) {
      m.logit = extremeLogit;
      m.group = 'fault';
      own = 'extreme';
    }
    // `knownStates`: a run between the states that came back to the state it left was a dip (or a
    // spike towards another state), no switch: it alarms at the reading that comes back, unless
    // training held such runs.
    const bounceLogit = this.states?.bounced === true ? this.thresholdLogit() + SPIKE_BAR_MARGIN : -Infinity;
    if (bounceLogit > m.logit) {
      m.logit = bounceLogit;
      m.group = 'fault';
      own = 'spike';
    }
    const faultChannel = own !== '' ? own : known ? robust.stateChannel : c.faultScore.channel && c.faultScore.channel !== 'none' ? c.faultScore.channel : 'point';
    const channel = m.group !== 'fault' ? m.group : faultChannel;
    // Online (never fitted), nothing calibrates the channels on this stream: 0.5 sits ONLINE_SHIFT
    // log-odds further out (a monotone map, so the order of scores, and NAB, are unchanged).
    let p = sigmoid(this.calibration ? m.logit : m.logit - this.onlineShift);
    // A stuck run in a known state alarms only when the fault member would alarm on it itself: a run
    // of repeats as long as training's longest is no stuck sensor, however low a bar the hold-out's quiet readings set.
    if (known && channel === 'stuck' && robust.stateScore < robust.threshold) p = Math.min(p, this.threshold * 0.99);
    // The trend channel takes no reference from a stretch that held an alarm-level reading.
    if (p >= this.threshold) this.trend?.mark(reading.ts);
    const holdoff = this.params.holdoff as number;
    if (holdoff > 0) {
      this.peakAge++;
      if (this.peakAge > holdoff) this.peak = 0;
      if (p >= this.threshold) {
        if (channel !== this.peakChannel || m.logit > this.peak) {
          this.peak = m.logit;
          this.peakAge = 0;
          this.peakChannel = channel;
        } else p = Math.min(p, this.threshold * 0.99);
      }
    }
    // One event, one alarm on the shape channel: its windows span up to a cycle, so they keep
    // scoring high for a cycle after an event ended. Within a cycle and a half of a shape alarm,
    // only a larger shape score alarms again.
    const cycle = this.members.shape.period ?? 0;
    if (cycle > 0) {
      this.shapeAge++;
      if (m.group === 'shape' && p >= this.threshold) {
        if (this.shapeAge <= 1.5 * cycle && m.logit <= this.shapePeak) p = Math.min(p, this.threshold * 0.99);
        else {
          this.shapePeak = m.logit;
          this.shapeAge = 0;
        }
      }
    }
    // One incident, one alarm: every alarm-level reading extends the incident. Within it, a shape
    // alarm is an echo, and so is an alarm of a channel that averages over readings (level, drift,
    // swing, burst, collapse) unless it continues the incident's own run: the same channel with no
    // break longer than RUN_GAP_MS (or 2.5 readings) since the last alarm-level reading
    // (`echoRuns`; in models written before it such an alarm was an echo only when it was not
    // larger and, for the averaging channels, came from another channel). Their windows and
    // averages still hold the event's readings after it ended, and their calibrated log-odds
    // saturate near 1, so "larger" could not tell an echo from a new event. A spike alarm in an
    // incident the shape channel raised is an echo unless larger (`pointEchoOfShape`: after a cycle
    // moved, the deseasonalised residual shows the new phase as spikes). The point, stuck, dropout
    // and novelty channels are never echoes of another channel, so the readings of a spike, a stuck
    // run or a dropout still count as anomalies one by one (the alarm rules count them).
    if (this.episodeMs > 0 && p >= this.threshold) {
      const within = reading.ts <= this.episodeEnd;
      const windowed = m.group === 'shape' || AVERAGING_CHANNELS.has(channel);
      let echo: boolean;
      if (this.echoRuns && windowed) {
        // With `ownRuns` a run continues only from the incident's own alarms, not from an echo's
        // alarm-level readings (an echo two readings long was an alarm on its second).
        const lastAlarmLevel = this.ownRuns ? this.runTs : this.episodeEnd - this.episodeMs;
        // The fault member's learned interval, not the fit's: it is part of every artifact, so a
        // restored model (every live session) judges runs exactly as the fitted one did.
        // With `levelClip` a level shift's first reading is a lone reading to the level channel (a
        // spike or swing alarm): the level channel continuing that run is the same event, named.
        const takesOver = this.levelTakesOver && channel === 'level' && (this.episodeChannel === 'spike' || this.episodeChannel === 'swing');
        const continues = (channel === this.episodeChannel || takesOver) && reading.ts - lastAlarmLevel <= Math.max(RUN_GAP_MS, 2.5 * this.members.robust.typicalInterval);
        echo = within && (m.group === 'shape' || !continues);
      } else {
        // A `spikeBar` alarm inside another channel's incident is its echo unless larger: after a
        // stuck run or a level shift the rolling median still holds the event's readings.
        const barEcho = own === 'spike' && this.episodeChannel !== 'spike';
        const candidate = windowed ? m.group === 'shape' || channel !== this.episodeChannel : barEcho || (this.pointEchoOfShape && channel === 'spike' && this.episodeChannel === 'shape');
        echo = candidate && within && m.logit <= this.episodePeak;
      }
      const deviation = c.faultScore.expected === undefined ? Number.NaN : Math.abs(reading.value - (c.faultScore.expected + c.seasonal));
      // A reading far further from the expected value than any the incident alarmed on is a new,
      // larger event: it starts a run, so its next reading of the same channel alarms; a clear
      // outlier on its own alarms at once (`holdoffBreak`: at 10 Hz the fault member's hold-off
      // keeps its next reading quiet).
      const larger = this.ownRuns && deviation > BREAKTHROUGH * this.runDeviation;
      if (echo && larger && this.holdoffBreak && m.group === 'fault' && this.runDeviation > 0 && this.members.robust.clearOutlier) echo = false;
      if (echo) {
        p = Math.min(p, this.threshold * 0.99);
        if (larger) this.runTs = reading.ts;
      } else {
        this.runTs = reading.ts;
        this.runDeviation = Math.max(Number.isNaN(deviation) ? 0 : deviation, within ? this.runDeviation : 0);
        this.episodePeak = m.logit;
        this.episodeChannel = channel;
      }
      this.episodeEnd = reading.ts + this.episodeMs;
    }
    const isAnomaly = p >= this.threshold;
    const driver = m.group === 'novelty' && c.noveltyScore ? c.noveltyScore : c.faultScore;
    const signal = own === 'range' || own === 'trend' ? 'drift' : own === 'extreme' || own === 'spike' ? 'spike' : own === 'exceed' ? 'variance' : m.group === 'shape' ? 'pattern' : driver.signal === 'none' ? 'pattern' : driver.signal;
    const fault = { name: 'fault', weight: Math.round(c.faultScore.anomaly_score * 1000) / 1000 };
    const novelty = { name: 'novelty', weight: Math.round((c.noveltyScore?.anomaly_score ?? 0) * 1000) / 1000 };
    const score: Score = {
      anomaly_score: p,
      is_anomaly: isAnomaly,
      confidence: confidenceOf(p, this.threshold),
      method: methodOf(channel),
      signal: isAnomaly ? signal : 'none',
      channel,
      // Largest first; a tie keeps the fault member first.
      contributions: novelty.weight > fault.weight ? [novelty, fault] : [fault, novelty],
    };
    if (c.faultScore.expected !== undefined) {
      // On a cycle the fault channels' band is around the level: move it onto the cycle's shape.
      score.expected = c.faultScore.expected + c.seasonal;
      if (c.faultScore.lower !== undefined) score.lower = c.faultScore.lower + c.seasonal;
      if (c.faultScore.upper !== undefined) score.upper = c.faultScore.upper + c.seasonal;
    }
    return score;
  }

  warmup(): WarmupState {
    const s = this.members.seasonal;
    if (s && s.available < SEASONAL_MIN_CYCLES) {
      const size = Math.ceil(SEASONAL_MIN_CYCLES * s.period) + 1;
      const current = Math.min(size, Math.round(s.available * s.period));
      return { window_progress: current / size, window_size: size, current_window: current, status: 'warming_up' };
    }
    return this.members.robust.warmup();
  }

  serialize(): DetectorArtifact {
    return {
      format: 'vigil-detector',
      version: ARTIFACT_VERSION,
      kind: KIND,
      seed: this.seed,
      threshold: this.threshold,
      params: { ...this.params },
      state: {
        calibration: this.calibration ?? null,
        noveltyCalibration: this.noveltyCalibration ?? null,
        shapeCalibration: this.shapeCalibration ?? null,
        ...(this.seen && { seen: seenState(this.seen) }),
        shape: this.members.shape.toJSON(),
        seasonal: this.members.seasonal ? { ...this.members.seasonal.toJSON(), interval: this.sampleInterval, lastTs: this.lastTs ?? null } : null,
        holdoff: [this.peak, this.peakAge],
        shapeHoldoff: [this.shapePeak, Math.min(this.shapeAge, Number.MAX_SAFE_INTEGER)],
        episode: Number.isFinite(this.episodeEnd) ? [this.episodeEnd, this.episodePeak, this.episodeChannel, ...(Number.isFinite(this.runTs) ? [this.runTs, this.runDeviation] : [])] : null,
        peakChannel: this.peakChannel,
        robust: this.members.robust.serialize(),
        context: this.members.context.serialize(),
        ...(this.glitch && { glitch: this.glitch.toJSON() }),
        ...(this.arPoint && { arPoint: this.arPoint.toJSON() }),
        ...(this.range && { range: this.range.toJSON() }),
        ...(this.trend && { trend: this.trend.toJSON() }),
        ...(this.states && { states: this.states.toJSON() }),
        ...(this.exceedBar > EXCEED_ALARM && { exceedBar: this.exceedBar }),
        ...(this.extremes && { extremes: this.extremes.toJSON() }),
      },
      metrics: { ...this.metrics },
    };
  }

  /** @internal Used by `restore`. */
  load(state: ValidState, metrics: Record<string, number> | undefined): void {
    this.calibration = state.calibration ?? undefined;
    this.noveltyCalibration = state.noveltyCalibration ?? undefined;
    this.shapeCalibration = state.shapeCalibration ?? undefined;
    // A detector that fitted (or fitted itself to the end) keeps no readings.
    this.seen =
      state.seen && (this.params.selfFit as number) > 0
        ? {
            ts: [...state.seen.ts],
            value: [...state.seen.value],
            total: state.seen.total,
            alarmTs: state.seen.alarmTs ?? Number.NaN,
            fitCount: state.seen.fitCount ?? 0,
            fitSpan: state.seen.fitSpan ?? 0,
            ...(state.seen.earlyTried === true && { earlyTried: true }),
            ...(state.seen.provisional === true && { provisional: true }),
          }
        : undefined;
    if (Array.isArray(state.shapeHoldoff)) [this.shapePeak, this.shapeAge] = state.shapeHoldoff;
    if (Array.isArray(state.episode)) [this.episodeEnd, this.episodePeak, this.episodeChannel, this.runTs = Number.NEGATIVE_INFINITY, this.runDeviation = 0] = state.episode;
    this.peak = state.holdoff[0];
    this.peakAge = state.holdoff[1];
    this.peakChannel = state.peakChannel;
    const seasonal = state.seasonal as { interval?: unknown; lastTs?: unknown } | null | undefined;
    this.sampleInterval = typeof seasonal?.interval === 'number' && seasonal.interval > 0 ? seasonal.interval : 0;
    this.lastTs = typeof seasonal?.lastTs === 'number' ? seasonal.lastTs : undefined;
    this.metrics = { ...(metrics ?? {}) };
    this.glitch = state.glitch;
    this.arPoint = state.arPoint;
    this.range = state.range;
    this.trend = state.trend;
    this.states = state.states;
    this.exceedBar = state.exceedBar ?? EXCEED_ALARM;
    this.extremes = state.extremes;
  }
}

/** What the fault member is fitted on: the readings it judges and, for each, whether the raw reading moved (absent: none did). */
interface FaultTraining {
  readings: readonly Reading[];
  moved?: readonly boolean[];
}

/** What `combine` leaves for `mix` and `scoreOne`. */
interface Combined {
  fault: number;
  novelty: number;
  shape: number;
  faultScore: Score;
  /** The novelty member's last brief score (reused by its next reading). */
  noveltyScore: BriefScore | undefined;
  seasonal: number;
}

const QUIET: Score = { anomaly_score: 0, is_anomaly: false, confidence: 0, method: KIND, signal: 'none' };

/** `auto:<channel>` for the channels there are, built once rather than per reading. */
const METHODS: ReadonlyMap<string, string> = new Map(
  ['point', 'spike', 'level', 'drift', 'swing', 'burst', 'collapse', 'range', 'trend', 'exceed', 'extreme', 'stuck', 'dropout', 'novelty', 'shape'].map((c) => [c, `${KIND}:${c}`]),
);
function methodOf(channel: string): string {
  return METHODS.get(channel) ?? `${KIND}:${channel}`;
}

/** Typical spacing of readings' timestamps (ms): the mean of the steps near the median; 0 when it cannot be told. */
function medianInterval(readings: readonly Reading[]): number {
  const d: number[] = [];
  for (let i = 1; i < readings.length && d.length < 5000; i++) {
    const step = (readings[i] as Reading).ts - (readings[i - 1] as Reading).ts;
    if (step > 0 && Number.isFinite(step)) d.push(step);
  }
  if (d.length === 0) return 0;
  const sorted = [...d].sort((a, b) => a - b);
  const median = sorted[sorted.length >> 1] as number;
  // Timestamps rounded to whole milliseconds make the median step coarse: average the regular steps.
  let sum = 0;
  let n = 0;
  for (const step of d) {
    if (step > 0.5 * median && step < 1.5 * median) {
      sum += step;
      n++;
    }
  }
  return n > 0 ? sum / n : median;
}

/**
 * The members' parameters. On a cycle (`cycleSeconds`: its length; undefined without one) the fault
 * member sees the readings with the cycle removed and its level channel is off: on that residual
 * its long-run statistics come from a few cycles of training and its false alarms outnumbered its
 * finds on the development split (a level shift still shows on the point channel of the residual).
 * The drift channel is off there too, unless `settledDrift` and the cycle is short against the
 * drift's lag (see SETTLED_DRIFT); on a cycle its swing channel settles first (`swingSettle`).
 * The exceedance count (`exceedance`) runs only in the fault member of a fit (`fitted`) without a
 * cycle: on NAB's never-fitted series its alarms cost 12 points.
 */
function memberParams(params: Params, cycleSeconds?: number, fitted = false): { robust: Record<string, unknown>; context: Record<string, unknown> } {
  const seasonal = cycleSeconds !== undefined;
  const driftSeconds = params.driftSeconds as number;
  const settled = params.settledDrift === true && driftSeconds > 0;
  const cycleDrift = settled && seasonal && cycleSeconds <= SETTLED_DRIFT.maxCycleShare * driftSeconds;
  return {
    robust: {
      ...AUTO_ROBUST_PARAMS,
      adaptLevel: params.adaptLevel === true,
      ...(levelClipOf(params) > 0 && { levelClip: levelClipOf(params) }),
      ...((params.driftSeconds as number) > 0 && { driftSeconds: params.driftSeconds }),
      ...(params.swingFloors === true && SWING_FLOORS),
      ...(params.swingSettle === true && seasonal && { swingSettle: SWING_SETTLE }),
      ...(params.runGuards === true && RUN_GUARDS),
      ...(params.runGuards === true && params.runsLearned === true && { stuckRunLearn: RUNS_LEARNED }),
      ...(params.dropoutsApart === true && DROPOUTS_APART),
      ...(params.stuckApart === true && params.adaptLevel !== true && STUCK_APART),
      ...(params.dropoutsTeachNothing === true && DROPOUTS_TEACH_NOTHING),
      ...(params.localPoint === true && params.adaptLevel !== true && { localPoint: LOCAL_POINT }),
      ...(settled && { driftSmooth: cycleDrift ? Math.max(driftSeconds / SETTLED_DRIFT.smoothShare, cycleSeconds) : driftSeconds / SETTLED_DRIFT.smoothShare }),
      ...(seasonal ? AUTO_SEASONAL_ROBUST_PARAMS : {}),
      ...(cycleDrift && { driftWeight: 1 }),
      ...(params.holdoffBreak === true && { holdoffBreak: HOLDOFF_BREAK }),
      ...(params.holdoffRearm === true && { holdoffRearm: true }),
      ...(params.coarseClock === true && { clockTicks: true }),
      ...(params.exceedance === true && params.adaptLevel !== true && fitted && !seasonal && { exceedWindow: EXCEED_WINDOW }),
    },
    context: { ...AUTO_CONTEXT_PARAMS },
  };
}

/**
 * The point channel's AR order (`arPoint`) for a fit on `n` training readings: AR_ORDER, or
 * (`shortFit`) on fewer than that order needs, as many lags as they support.
 */
function arOrderFor(params: Params, n: number): number {
  return params.shortFit === true ? Math.min(AR_ORDER, Math.floor(n / AR_READINGS_PER_COEFFICIENT) - 1) : AR_ORDER;
}

/** The fault member, for a fit (`fitted`: its training part, a cycle when `cycleSeconds`) or for a never-fitted detector. */
function createRobust(params: Params, seed: number, cycleSeconds?: number, fitted = false): RobustDetector {
  return robustFactory.create({ seed: deriveSeed(seed, 0), params: memberParams(params, cycleSeconds, fitted).robust }) as RobustDetector;
}

/** `cycleTrend`: the longest cycle (ms) the trend channel runs on: its shortest lag, or with `cycleTrendLong` its second. */
function cycleTrendLongestMs(params: Params): number {
  return params.cycleTrendLong === true ? TREND_LAGS_MS[1] : TREND_LAGS_MS[0];
}

/** A cycle's length in seconds from its period (readings) and the sampling interval (ms; 0 when unknown: Infinity). */
function cycleSecondsOf(period: number, intervalMs: number): number {
  return intervalMs > 0 ? (period * intervalMs) / 1000 : Infinity;
}

/** The shape channel's options for `params` (`shapeNewNormal`). */
function shapeOptions(params: Params): { newNormalCycles: number } {
  return { newNormalCycles: params.shapeNewNormal === true ? SHAPE_NEW_NORMAL_CYCLES : 0 };
}

/** The novelty member; `warmup` (`shortFit`): a shorter warm-up than its default, for a short training part. */
function createContext(params: Params, seed: number, warmup?: number): ContextDetector {
  const p = memberParams(params).context;
  return contextFactory.create({ seed: deriveSeed(seed, 1), params: warmup === undefined ? p : { ...p, warmup } }) as ContextDetector;
}

/** The one value every finite reading holds (NaN when none is finite), or undefined when they hold two or more. */
function oneValueOf(readings: readonly Reading[]): number | undefined {
  let only = Number.NaN;
  for (const r of readings) {
    if (!Number.isFinite(r.value)) continue;
    if (Number.isNaN(only)) only = r.value;
    else if (r.value !== only) return undefined;
  }
  return only;
}

function createMembers(params: Params, seed: number): Members {
  // Never fitted, the shape channel has no calibration and cannot speak (see `mix`): `fit` wakes it.
  const shape = new SubsequenceChannel(shapeOptions(params));
  shape.sleep();
  return {
    robust: createRobust(params, seed),
    context: createContext(params, seed),
    shape,
  };
}

interface ValidState {
  calibration: Calibration | null;
  noveltyCalibration: Calibration | null;
  shapeCalibration: Calibration | null;
  /**
   * A never-fitted detector's readings so far (absent once fitted, and in older artifacts); with
   * `selfFitQuiet` the last self-fit's readings and span and its first alarm (absent in older
   * artifacts: no self-fit yet, no alarm).
   */
  seen?: { ts: number[]; value: number[]; total: number; alarmTs?: number; fitCount?: number; fitSpan?: number; earlyTried?: boolean; provisional?: boolean };
  shape: unknown;
  /** Absent or null in artifacts without a cycle (and in those written before seasonal removal). */
  seasonal?: unknown;
  holdoff: [number, number];
  /** Absent in artifacts written before the shape channel's hold-off. */
  shapeHoldoff?: [number, number];
  /**
   * The current incident [end (ms), peak log-odds, channel, last alarm that was no echo (ms) and the
   * largest distance from the expected value among those alarms (both absent when none, and in
   * artifacts written before `ownRuns`)]; null when none, absent in artifacts written before incidents.
   */
  episode?: [number, number, string, number?, number?] | null;
  peakChannel: string;
  robust: DetectorArtifact;
  context: DetectorArtifact;
  /** The known-glitch gate of a fitted model with `glitchGate` (absent before a fit, and in older artifacts). */
  glitch?: GlitchGate;
  /** The autoregressive point channel of a model fitted with `arPoint` (absent otherwise: heavy-tailed noise, adaptLevel, older artifacts). */
  arPoint?: ArPoint;
  /** The range channel of a model fitted with `levelRange` on data without a cycle (absent otherwise, and in older artifacts). */
  range?: LevelRange;
  /** The trend channel of a model fitted with `levelTrend` on data without a cycle (absent otherwise, and in older artifacts). */
  trend?: LevelTrend;
  /** The known states of a model fitted with `knownStates` on data that switches between levels (absent otherwise, and in older artifacts). */
  states?: KnownStates;
  /** `exceedTrained`: the exceedance count's alarm surprise when the training data's own put it above EXCEED_ALARM (absent otherwise, and in older artifacts). */
  exceedBar?: number;
  /** A never-fitted slow stream's range with `newExtremes` (absent otherwise, and in older artifacts). */
  extremes?: NewExtremes;
}

const MEMBER_KINDS = { robust: robustFactory, context: contextFactory } as const;

function validateState(state: unknown, params: Params): ValidState {
  const s = asRecord(KIND, state, 'state');
  if (s.calibration !== null && !isCalibration(s.calibration)) throw invalidArtifact(KIND, 'state.calibration is malformed');
  if (s.noveltyCalibration !== null && !isCalibration(s.noveltyCalibration)) throw invalidArtifact(KIND, 'state.noveltyCalibration is malformed');
  if (s.shapeCalibration !== null && !isCalibration(s.shapeCalibration)) throw invalidArtifact(KIND, 'state.shapeCalibration is malformed');
  // A few builds fitted each fault channel on its own scale; the fault calibration of those artifacts
  // is on that scale, so they cannot score here.
  if (s.channelCalibration !== undefined) throw invalidArtifact(KIND, 'this model was fitted with per-channel fault scales, which this version no longer uses; retrain it (POST /models/:id/retrain or vigil train)');
  if (s.seen !== undefined) {
    const seen = asRecord(KIND, s.seen, 'state.seen');
    const ok = (a: unknown): a is number[] => Array.isArray(a) && a.length <= SELF_FIT_MAX && a.every((v) => typeof v === 'number' && Number.isFinite(v));
    if (!ok(seen.ts) || !ok(seen.value) || seen.ts.length !== seen.value.length || !(typeof seen.total === 'number' && Number.isInteger(seen.total) && seen.total >= seen.ts.length)) {
      throw invalidArtifact(KIND, `state.seen must hold matching ts and value arrays of at most ${SELF_FIT_MAX} finite numbers and a total count`);
    }
    const optional = (v: unknown): boolean => v === undefined || (typeof v === 'number' && Number.isFinite(v) && v >= 0);
    if (!optional(seen.alarmTs) || !optional(seen.fitCount) || !optional(seen.fitSpan)) throw invalidArtifact(KIND, 'state.seen.alarmTs, fitCount and fitSpan must be non-negative numbers when present');
    if ((seen.earlyTried !== undefined || seen.provisional !== undefined) && params.earlySelfFit !== true) throw invalidArtifact(KIND, 'state.seen.earlyTried and provisional are only written with earlySelfFit');
    if (![seen.earlyTried, seen.provisional].every((v) => v === undefined || v === true)) throw invalidArtifact(KIND, 'state.seen.earlyTried and provisional must be true when present');
    if (seen.provisional === true && seen.earlyTried !== true) throw invalidArtifact(KIND, 'state.seen.provisional needs earlyTried');
  }
  let shape: SubsequenceChannel;
  try {
    shape = SubsequenceChannel.fromJSON(s.shape, { asleep: true });
  } catch (e) {
    throw invalidArtifact(KIND, `state.shape: ${e instanceof Error ? e.message : String(e)}`);
  }
  const { newNormalCycles } = shapeOptions(params);
  if (shape.newNormalCycles !== newNormalCycles) {
    throw invalidArtifact(KIND, `state.shape.options.newNormalCycles must be ${newNormalCycles} ${params.shapeNewNormal === true ? 'with' : 'without'} shapeNewNormal`);
  }
  if (s.seasonal !== undefined && s.seasonal !== null) {
    let seasonal: SeasonalRemover;
    try {
      seasonal = SeasonalRemover.fromJSON(s.seasonal);
    } catch (e) {
      throw invalidArtifact(KIND, `state.seasonal: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (seasonal.levelFree !== (params.cycleLevelFree === true)) throw invalidArtifact(KIND, `state.seasonal.levelFree is written ${params.cycleLevelFree === true ? 'with' : 'only with'} cycleLevelFree`);
  }
  const h = s.holdoff;
  if (!Array.isArray(h) || h.length !== 2 || !h.every((v) => typeof v === 'number' && Number.isFinite(v)) || (h[1] as number) < 0) {
    throw invalidArtifact(KIND, 'state.holdoff must be [peak, age ≥ 0]');
  }
  const sh = s.shapeHoldoff;
  if (sh !== undefined && (!Array.isArray(sh) || sh.length !== 2 || !sh.every((v) => typeof v === 'number' && Number.isFinite(v)) || (sh[1] as number) < 0)) {
    throw invalidArtifact(KIND, 'state.shapeHoldoff must be [peak, age ≥ 0]');
  }
  if (typeof s.peakChannel !== 'string' || s.peakChannel.length > 32) throw invalidArtifact(KIND, 'state.peakChannel must be a short string');
  const ep = s.episode;
  const epShape = Array.isArray(ep) && (ep.length === 3 || (ep.length === 5 && Number.isFinite(ep[3]) && Number.isFinite(ep[4]) && ep[4] >= 0));
  if (ep !== undefined && ep !== null && (!epShape || !Number.isFinite(ep[0]) || !Number.isFinite(ep[1]) || typeof ep[2] !== 'string' || ep[2].length > 32)) {
    throw invalidArtifact(KIND, 'state.episode must be null or [end, peak, channel, last own alarm?, its distance?]');
  }
  const cycle = s.seasonal as { period?: unknown; interval?: unknown } | null | undefined;
  // The fault member of a fit is marked fitted in its own state (a never-fitted detector's is not).
  const fitted = (s.robust as { state?: { fitted?: unknown } } | null | undefined)?.state?.fitted === true;
  const mp = memberParams(params, cycle ? cycleSecondsOf(Number(cycle.period), typeof cycle.interval === 'number' ? cycle.interval : 0) : undefined, fitted);
  for (const name of ['robust', 'context'] as const) {
    const a = asRecord(KIND, s[name], `state.${name}`);
    if (a.format !== 'vigil-detector' || a.kind !== name) throw invalidArtifact(KIND, `state.${name} is not a ${name} artifact`);
    if (typeof a.seed !== 'number' || typeof a.threshold !== 'number' || typeof a.params !== 'object' || a.params === null) {
      throw invalidArtifact(KIND, `state.${name} lacks seed, threshold or params`);
    }
    // Compared complete (defaults filled in): a member written before a parameter existed stores none for it.
    let stored: Record<string, unknown>;
    try {
      stored = readMemberParams(name, a.params as Record<string, unknown>);
    } catch (e) {
      throw invalidArtifact(KIND, `state.${name}.params: ${e instanceof Error ? e.message : String(e)}`);
    }
    const expected = readMemberParams(name, mp[name]);
    // `shortFit`: a fit on fewer readings than its warm-up needs gives the novelty member a shorter one.
    const w = stored.warmup;
    if (name === 'context' && params.shortFit === true && typeof w === 'number' && Number.isInteger(w) && w >= 10 && w < (expected.warmup as number)) expected.warmup = w;
    if (JSON.stringify(stored) !== JSON.stringify(expected)) throw invalidArtifact(KIND, `state.${name} was made with other parameters than this build uses; retrain`);
    const art = a as unknown as DetectorArtifact;
    MEMBER_KINDS[name].validateState?.(art.state, art);
  }
  const cyclic = cycle !== undefined && cycle !== null;
  const glitch = channelState(s, 'glitch', GlitchGate.fromJSON, [
    [params.glitchGate !== true || params.adaptLevel === true, 'with glitchGate, not with adaptLevel'],
    [(s.glitch as { values?: unknown } | null | undefined)?.values !== undefined !== (params.glitchValues === true), 'with its values exactly when glitchValues is on'],
  ]);
  const arPoint = channelState(s, 'arPoint', ArPoint.fromJSON, [[params.arPoint !== true || params.adaptLevel === true, 'with arPoint, not with adaptLevel']]);
  const range = channelState(s, 'range', LevelRange.fromJSON, [
    [params.levelRange !== true || params.adaptLevel === true, 'with levelRange, not with adaptLevel'],
    [cyclic, 'without a cycle (state.seasonal)'],
  ]);
  const extremes = channelState(s, 'extremes', NewExtremes.fromJSON, [
    [params.newExtremes !== true, 'with newExtremes'],
    [s.calibration !== null || s.seen !== undefined, 'by a never-fitted detector that keeps no readings (state.calibration null, no state.seen)'],
  ]);
  const trend = channelState(s, 'trend', LevelTrend.fromJSON, [
    [params.levelTrend !== true || params.adaptLevel === true, 'with levelTrend, not with adaptLevel'],
    [cyclic && params.cycleTrend !== true, 'without a cycle (state.seasonal) unless cycleTrend'],
    [
      cyclic && Number(cycle.period) * Number((cycle as { interval?: unknown }).interval) > cycleTrendLongestMs(params),
      `on a cycle of at most ${TREND_LAGS_MS[0] / 1000} s (${TREND_LAGS_MS[1] / 1000} s with cycleTrendLong)`,
    ],
  ]);
  const states = channelState(s, 'states', KnownStates.fromJSON, [
    [params.knownStates !== true || params.adaptLevel === true, 'with knownStates, not with adaptLevel'],
  ]);
  if (trend && trend.rearms !== (params.trendRearm === true)) throw invalidArtifact(KIND, `state.trend.rearm is written ${params.trendRearm === true ? 'with' : 'only with'} trendRearm`);
  if (s.exceedBar !== undefined) {
    if (params.exceedTrained !== true || params.exceedance !== true || params.adaptLevel === true) throw invalidArtifact(KIND, 'state.exceedBar is only written with exceedance and exceedTrained, not with adaptLevel');
    if (typeof s.exceedBar !== 'number' || !Number.isFinite(s.exceedBar) || s.exceedBar <= EXCEED_ALARM) throw invalidArtifact(KIND, `state.exceedBar must be a number above ${EXCEED_ALARM}`);
  }
  return { ...s, glitch, arPoint, range, trend, states, extremes } as unknown as ValidState;
}

/**
 * A channel's saved state, rebuilt by `parse`; undefined when the artifact has none. `rules` are
 * [broken, when it is written]: a state present while a rule is broken could not have been written
 * by this model, and is refused naming the rule (as is a malformed one, naming its field).
 */
function channelState<T>(s: Record<string, unknown>, key: string, parse: (x: unknown) => T, rules: ReadonlyArray<readonly [boolean, string]>): T | undefined {
  if (s[key] === undefined) return undefined;
  for (const [broken, when] of rules) if (broken) throw invalidArtifact(KIND, `state.${key} is only written ${when}`);
  try {
    return parse(s[key]);
  } catch (e) {
    throw invalidArtifact(KIND, `state.${key}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** A member's complete params as its artifact stores them. */
function readMemberParams(name: 'robust' | 'context', raw: Record<string, unknown>): Record<string, unknown> {
  return MEMBER_KINDS[name].create({ params: raw }).serialize().params;
}

/**
 * An artifact's parameters. Models written before incidents (no `episode` parameter), before a
 * point alarm could be a shape incident's echo (no `pointEchoOfShape`), before an incident's
 * windowed channels alarmed once (no `echoRuns`), before an echo's readings started no run (no
 * `ownRuns`), before a clear outlier broke the fault member's hold-off (no `holdoffBreak`), before
 * the drift channel judged time (no
 * `driftSeconds`), before the swing channel's floors (no `swingFloors`), before the run guards (no
 * `runGuards`), before stuck and dropout readings were kept out of the cycle (no `cycleImpute`) or
 * before 0 V dropouts were kept out of the rolling statistics (no `dropoutsApart`) or before a
 * stuck run's readings were (no `stuckApart`) or before a 0 V dropout taught the spike and level
 * channels nothing (no `dropoutsTeachNothing`) or before one
 * glitch was kept out of the level channel (no `levelClip`) or before the drift level settled (no
 * `settledDrift`) or before the point channel measured from the last few readings (no `localPoint`)
 * or before known glitches were scored as the last normal reading (no `glitchGate`; on a cycle, no
 * `cycleGlitch`) or before the
 * range channel (no `levelRange`) or before a slow stream's new extremes alarmed (no `newExtremes`)
 * or before the fault member's hold-off waited for its channel to fall (no `holdoffRearm`) or before
 * the trend channel (no `levelTrend`; on a cycle, no `cycleTrend`), or before it re-armed after a gap
 * (no `trendRearm`) and held on a cycle only for large faults (no `cycleHoldSize`), or before the
 * shape channel took a change lasting 16 cycles as the new normal (no `shapeNewNormal`) or before a
 * self-fit cut short by an alarm ran when it first spanned the trend channel's training time (no
 * `selfFitTrend`) score as they did.
 */
function artifactParams(artifact: DetectorArtifact): Params {
  const a = artifact.params;
  const legacy = {
    ...(a.episode === undefined && { episode: 0 }),
    ...(a.pointEchoOfShape === undefined && { pointEchoOfShape: false }),
    ...(a.echoRuns === undefined && { echoRuns: false }),
    ...(a.ownRuns === undefined && { ownRuns: false }),
    ...(a.holdoffBreak === undefined && { holdoffBreak: false }),
    ...(a.driftSeconds === undefined && { driftSeconds: 0 }),
    ...(a.swingFloors === undefined && { swingFloors: false }),
    ...(a.swingSettle === undefined && { swingSettle: false }),
    ...(a.runGuards === undefined && { runGuards: false }),
    ...(a.cycleImpute === undefined && { cycleImpute: false }),
    ...(a.dropoutsApart === undefined && { dropoutsApart: false }),
    ...(a.stuckApart === undefined && { stuckApart: false }),
    ...(a.dropoutsTeachNothing === undefined && { dropoutsTeachNothing: false }),
    ...(a.levelClip === undefined && { levelClip: false }),
    ...(a.settledDrift === undefined && { settledDrift: false }),
    ...(a.localPoint === undefined && { localPoint: false }),
    ...(a.glitchGate === undefined && { glitchGate: false }),
    ...(a.cycleGlitch === undefined && { cycleGlitch: false }),
    ...(a.glitchValues === undefined && { glitchValues: false }),
    ...(a.levelRange === undefined && { levelRange: false }),
    ...(a.selfFitQuiet === undefined && { selfFitQuiet: false }),
    ...(a.selfFitSpan === undefined && { selfFitSpan: false }),
    ...(a.newExtremes === undefined && { newExtremes: false }),
    ...(a.holdoffRearm === undefined && { holdoffRearm: false }),
    ...(a.levelTrend === undefined && { levelTrend: false }),
    ...(a.cycleTrend === undefined && { cycleTrend: false }),
    ...(a.cycleTrendLong === undefined && { cycleTrendLong: false }),
    ...(a.exceedance === undefined && { exceedance: false }),
    ...(a.exceedTrained === undefined && { exceedTrained: false }),
    ...(a.shortFit === undefined && { shortFit: false }),
    ...(a.holdoutGuard === undefined && { holdoutGuard: false }),
    ...(a.cycleRepeatsRaw === undefined && { cycleRepeatsRaw: false }),
    ...(a.faultFloor === undefined && { faultFloor: false }),
    ...(a.coarseClock === undefined && { coarseClock: false }),
    ...(a.knownStates === undefined && { knownStates: false }),
    ...(a.earlySelfFit === undefined && { earlySelfFit: false }),
    ...(a.trendRearm === undefined && { trendRearm: false }),
    ...(a.periodFence === undefined && { periodFence: false }),
    ...(a.cycleHoldSize === undefined && { cycleHoldSize: false }),
    ...(a.shapeNewNormal === undefined && { shapeNewNormal: false }),
    ...(a.selfFitTrend === undefined && { selfFitTrend: false }),
    ...(a.budgetHz === undefined && { budgetHz: 0 }),
    ...(a.runsLearned === undefined && { runsLearned: false }),
    ...(a.spikeBar === undefined && { spikeBar: false }),
    ...(a.spikePairs === undefined && { spikePairs: false }),
    ...(a.arPoint === undefined && { arPoint: false }),
    ...(a.cycleLevelFree === undefined && { cycleLevelFree: false }),
    // Models written before the variance channels stepped back on cycles score as they did.
    ...(a.cycleVarianceBias === undefined && { cycleVarianceBias: 0 }),
    // … and before their near misses stepped back on cycles.
    ...(a.cycleQuietBias === undefined && { cycleQuietBias: 0 }),
  };
  return readParams(KIND, descriptor.params, { ...legacy, ...a });
}

/** The readings a never-fitted detector has kept, as readings. */
function readingsOf(seen: SeenReadings): Reading[] {
  return seen.ts.map((ts, i) => ({ ts, value: seen.value[i] as number }));
}

/** A never-fitted detector's readings (see `remember`) and, for `selfFitQuiet`, its last self-fit. */
interface SeenReadings {
  ts: number[];
  value: number[];
  total: number;
  /** The first alarm (ms) since a trusted self-fit; NaN when none. */
  alarmTs: number;
  /** Readings the last self-fit used and the time they spanned (ms); 0 before the first. */
  fitCount: number;
  fitSpan: number;
  /** `earlySelfFit`: the early self-fit has been tried; the last self-fit was it (its alarms set no `alarmTs`). */
  earlyTried?: boolean;
  provisional?: boolean;
}

function seenState(seen: SeenReadings): NonNullable<ValidState['seen']> {
  return {
    ts: [...seen.ts],
    value: [...seen.value],
    total: seen.total,
    ...(Number.isFinite(seen.alarmTs) && { alarmTs: seen.alarmTs }),
    ...(seen.fitCount > 0 && { fitCount: seen.fitCount, fitSpan: seen.fitSpan }),
    ...(seen.earlyTried === true && { earlyTried: true }),
    ...(seen.provisional === true && { provisional: true }),
  };
}

/**
 * `selfFitQuiet`: how many of the readings seen (oldest first) the next self-fit uses. All of them
 * unless a trusted self-fit (QUIET_TRUSTED_MS) has alarmed since: then those before QUIET_MARGIN_MS
 * ahead of its first alarm, so the fit does not learn the event as normal (and calibrate its alarm
 * point above it), or 0 (skip this fit) when that is not QUIET_MIN_GAIN times what the last fit used.
 * Wider development set (seeds 100001–100192, mode online): F1 0.783 → 0.845 (decision 0014).
 * With `trendGain` (`selfFitTrend`) a fit that is the first to span TREND_MIN_SPAN_MS runs even
 * so: it learns the trend channel, which the last fit had too little time for. Skipped, no later
 * fit came either, as every later doubling is cut at the same alarm (a 5 Hz stream whose
 * 1,024-reading fit spans 205 s kept that model for good after an event in its next 2 minutes).
 */
function quietPart(normal: readonly Reading[], seen: SeenReadings, trendGain: boolean): number {
  if (!Number.isFinite(seen.alarmTs)) return normal.length;
  const limit = seen.alarmTs - QUIET_MARGIN_MS;
  let k = 0;
  while (k < normal.length && (normal[k] as Reading).ts < limit) k++;
  if (k >= QUIET_MIN_GAIN * seen.fitCount) return k;
  if (!trendGain || k === 0 || seen.fitSpan >= TREND_MIN_SPAN_MS) return 0;
  return (normal[k - 1] as Reading).ts - (normal[0] as Reading).ts >= TREND_MIN_SPAN_MS ? k : 0;
}

export const autoFactory: DetectorFactory = {
  descriptor,
  create(options: CreateDetectorOptions): AutoDetector {
    const params = readParams(KIND, descriptor.params, options.params);
    const seed = options.seed ?? 1;
    return new AutoDetector(params, seed, options.threshold ?? 0.5, createMembers(params, seed));
  },
  restore(artifact: DetectorArtifact): AutoDetector {
    const params = artifactParams(artifact);
    const state = validateState(artifact.state, params);
    const members: Members = {
      robust: robustFactory.restore(state.robust) as RobustDetector,
      context: contextFactory.restore(state.context) as ContextDetector,
      shape: SubsequenceChannel.fromJSON(state.shape, { asleep: state.shapeCalibration === null }),
      ...(state.seasonal ? { seasonal: SeasonalRemover.fromJSON(state.seasonal) } : {}),
    };
    const d = new AutoDetector(params, artifact.seed, artifact.threshold, members);
    d.load(state, artifact.metrics);
    return d;
  },
  validateState(state: unknown, artifact: DetectorArtifact): void {
    validateState(state, artifactParams(artifact));
  },
};
