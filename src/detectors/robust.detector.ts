/**
 * `robust`: an online, training-free detector built from robust statistics.
 *
 * Each reading is compared with a rolling median and inter-quartile scale (spikes and dips),
 * and several short-horizon statistics are compared with their own long-run distribution, as in
 * HTM's anomaly likelihood: the short mean of the robust residual (level shifts, drifts), the
 * short mean of step sizes against their long-run size (noise bursts and variance collapse),
 * the run of repeated values against the learned repeat rate (stuck sensor), and timestamp gaps
 * against the learned sampling interval (dropouts). Every channel yields a surprise in
 * −log10(tail probability); the largest wins and names the signal. After an alarm-sized
 * surprise, later readings must clearly exceed it for `holdoff` readings, so one event raises
 * one alarm instead of a burst. `fit` is optional: it warm-starts the statistics and calibrates
 * the surprise → score mapping on held-out normal data.
 *
 * With `adaptLevel`, a fitted detector is a shape model for any device: the first `adaptWindow`
 * live readings after `fit` (or `resume`) are collected without alarms (`warming_up`), their
 * median and noise scale are measured, and from then on every reading is mapped onto the
 * training data's level and scale (x → training centre + (x − live centre) · gain) before it is
 * scored; the collected readings are replayed through the mapping first, and the device's
 * sampling interval and repeat rate are learned afresh from them.
 */
import { Exceedance, type ExceedanceState } from './channels/exceedance.ts';
import { calibrate, confidenceOf, isCalibration, type Calibration } from './calibration.ts';
import { frameGain, levelFrame, persistFraction, repeatFraction, type LevelFrame } from './level-frame.ts';
import { MEAN_ABS_TO_SIGMA, SQRT12, fitTailCalibration, readParams } from './ml-shared.ts';
import type { DetectorFactory } from './registry.ts';
import { Ewm, RARITY_BINS, Rarity, RollingRing, RollingWindow, fitPowerTail, normalTailSurprise, powerTailSurprise, type PowerTail } from './rolling.ts';
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
  type Signal,
  type WarmupState,
} from './types.ts';

const KIND = 'robust' as const;
const ARTIFACT_VERSION = 1;
const DEFAULT_TARGET_FAR = 0.001;
/**
 * Calibration works on ln(surprise) so scores never saturate to exactly 1 (NAB and threshold
 * sweeps need the order of large surprises). Before any `fit`, surprise 5 (p = 1e-5) maps to 0.5
 * and surprise 2 to 0.01.
 */
const DEFAULT_CALIBRATION: Calibration = { center: Math.log(5), scale: Math.log(5 / 2) / Math.log(99), targetFalseAlarmRate: 1e-5 };
const SURPRISE_FLOOR = 1e-3;
const logSurprise = (s: number): number => Math.log(Math.max(s, SURPRISE_FLOOR));
const MAX_SURPRISE = 300;
const IQR_TO_SIGMA = 1.349;
/** Readings the drift channel's smoothed level (EWMA, weight 0.1) needs after a resume before it is a reference: 0.9^30 ≈ 4 %. */
const DRIFT_SETTLE = 30;
/** Levels the time-based drift channel keeps over `driftSeconds` (one per eighth of it). */
const TIME_DRIFT_STEPS = 8;
/** `driftSmooth`: the drift level has settled once its weight is this share of its steady state. */
const SETTLED_WEIGHT = 0.9;
/**
 * `driftSmooth`: the drift difference's spread is taken as at least this share of the robust noise
 * scale. A fit on a stretch where the level rose steadily (a third of a slow wave) learns a spread
 * of a tenth of the noise or less, and the wave's turn then alarmed as drift; a change of the
 * smoothed level by a third of the noise over driftSeconds is no ramp (decision 0014).
 */
const DRIFT_NOISE_FLOOR = 0.35;
/**
 * Training |robust z| with a kurtosis (fourth moment over squared second) below this is
 * Gaussian-like (a normal's is 3; Student-t noise with 4 or fewer degrees of freedom, and glitches,
 * lie far above): the spike channel then keeps no power-law tail guard and a milder absolute guard.
 */
const GAUSSIAN_KURTOSIS = 4;
/** The spike channel's absolute guard on Gaussian-like training noise, as a share of `absoluteZScale`. */
const GAUSSIAN_GUARD_SHARE = 0.75;
/** Fewest runs of repeats in the training part from which their longest is a reference (see `stuckRunFactor`). */
const MIN_REFERENCE_RUNS = 20;
/** `exceedWindow`: a reading is beyond the exceedance count's band only when it also lies more than this many ADC steps from the band's centre. */
const EXCEED_QUANTA = 1.5;
/** The exceedance count holds at most this many seconds of readings… */
const EXCEED_SECONDS = 4;
/** …and at least this many readings (or `exceedWindow`, when fewer). */
const EXCEED_MIN_READINGS = 16;

const PARAM_SPECS = [
  { name: 'window', type: 'integer', default: 128, min: 8, max: 4096, description: 'Readings in the rolling median / inter-quartile window.' },
  { name: 'warmup', type: 'integer', default: 100, min: 10, max: 100_000, description: 'Readings before the detector starts scoring.' },
  { name: 'horizon', type: 'integer', default: 1000, min: 50, max: 1_000_000, description: 'Memory (readings) of the long-run statistics each channel is compared with.' },
  { name: 'short', type: 'integer', default: 8, min: 1, max: 1000, description: 'Averaging horizon (readings) of the short-term channels.' },
  {
    name: 'levelClip',
    type: 'number',
    default: 0,
    min: 0,
    max: 50,
    description:
      "A reading beyond this robust |z| enters the level channel's short mean clipped to it unless the reading before was beyond it on the same side (and is named a spike when the swing channel moved most): one glitch is a spike, not a change of level (0: off, as in models written before it).",
  },
  {
    name: 'localPoint',
    type: 'integer',
    default: 0,
    min: 0,
    max: 1000,
    description:
      "When > 0, the spike channel also measures a reading from the median of the last this-many readings, in units of the noise its steps show, and judges the larger of that and its distance from the rolling median: on a wandering or slowly cycling signal the rolling median lags and the window's spread includes the wander, so a spike well clear of its neighbours looked ordinary (0: off, as in models written before it).",
  },
  { name: 'holdoff', type: 'integer', default: 100, min: 0, max: 1_000_000, description: 'Readings after an alarm during which a new alarm must clearly exceed it.' },
  { name: 'holdoffMargin', type: 'number', default: 1, min: 0, max: 10, description: 'How much larger (relative) a surprise must be to alarm again during the hold-off.' },
  {
    name: 'holdoffBreak',
    type: 'number',
    default: 0,
    min: 0,
    max: 1000,
    description:
      'When > 0, during the hold-off a clear outlier (point surprise above the bar for another kind of event) this many times further from the rolling median (robust |z|) than the reading that started the hold-off counts again: surprises saturate, so "clearly larger" could not see a 400σ spike seconds after a 100σ one (0: off, as in models written before it).',
  },
  {
    name: 'holdoffRearm',
    type: 'boolean',
    default: false,
    description:
      "The hold-off ends only once the channel that started it has also fallen below alarmSurprise: a channel whose average stays high after its event (the rolling median catching up at 1–2 Hz) raises no second alarm for it when the hold-off's readings are over; a larger surprise or another channel still alarms (off: it ends after `holdoff` readings, as in models written before it).",
  },
  { name: 'holdoffFactor', type: 'number', default: 0, min: 0, max: 1, description: 'Multiplier on suppressed surprises during the hold-off.' },
  { name: 'alarmSurprise', type: 'number', default: 3, min: 0, max: 100, description: 'Surprise (−log10 p) from which a reading starts a hold-off.' },
  { name: 'rarityHorizon', type: 'integer', default: 0, min: 0, max: 10_000_000, description: 'When > 0, the surprise is re-expressed as its rarity among this many past surprises (self-normalising per stream).' },
  {
    name: 'rarityUntilFit',
    type: 'boolean',
    default: false,
    description: 'With rarityHorizon > 0: self-normalise by rarity only while the detector has not been fitted (a fitted detector is calibrated on held-out normal data instead).',
  },
  { name: 'absoluteZScale', type: 'number', default: 2, min: 0, max: 100, description: 'Spike and level surprises also need |robust z| / this to be a normal-tail event (guards heavy-tailed noise); 0 disables.' },
  { name: 'gapFactor', type: 'number', default: 5, min: 1.5, max: 10_000, description: 'A timestamp gap this many times the learned sampling interval is a dropout.' },
  {
    name: 'clockTicks',
    type: 'boolean',
    default: false,
    description:
      'Readings that share a timestamp (a clock coarser than the sampling: 10 Hz readings stamped to the second, or a gateway stamping a batch) are not gaps of 0: the time the clock then moves is shared among the readings since it last moved, for the learned sampling interval and the dropout channel.',
  },
  { name: 'stuckMinRun', type: 'integer', default: 5, min: 2, max: 100_000, description: 'Shortest run of identical readings that can count as a stuck sensor.' },
  { name: 'zeroDropout', type: 'boolean', default: true, description: 'Treat a reading of exactly 0 far from a non-zero baseline as a dropout.' },
  { name: 'spikeWeight', type: 'number', default: 1, min: 0, max: 10, description: 'Weight of the spike/dip channel surprise.' },
  { name: 'levelWeight', type: 'number', default: 1, min: 0, max: 10, description: 'Weight of the level-shift/drift channel surprise.' },
  { name: 'varianceWeight', type: 'number', default: 1, min: 0, max: 10, description: 'Weight of the variance (burst/collapse) channel surprise.' },
  { name: 'driftLag', type: 'integer', default: 300, min: 10, max: 100_000, description: 'Readings between the two smoothed levels the drift channel compares (ramps, slow shifts).' },
  {
    name: 'driftSeconds',
    type: 'number',
    default: 0,
    min: 0,
    max: 86_400,
    description:
      'When > 0, the drift channel compares the smoothed level now with the level this many seconds earlier (by the readings\' timestamps: a ramp is slow in time, not in readings) instead of driftLag readings earlier.',
  },
  {
    name: 'driftSmooth',
    type: 'number',
    default: 0,
    min: 0,
    max: 86_400,
    description:
      "With driftSeconds: the drift channel's level is an average of the readings weighted by exp(−age / this many seconds), normalised by its weight, and it is compared, or kept as a reference, only once that weight has settled after a start or a pause (0: an average over driftSeconds / 8 that starts at the first reading, as in models written before it).",
  },
  { name: 'driftWeight', type: 'number', default: 1, min: 0, max: 10, description: 'Weight of the drift channel surprise; 0 disables it.' },
  { name: 'swingShort', type: 'integer', default: 16, min: 2, max: 10_000, description: 'Averaging horizon (readings) of the swing channel (mean squared residual from the rolling median: oscillations).' },
  { name: 'swingWeight', type: 'number', default: 1, min: 0, max: 10, description: 'Weight of the swing channel surprise; 0 disables it.' },
  {
    name: 'stuckRunFactor',
    type: 'number',
    default: 0,
    min: 0,
    max: 1000,
    description:
      'When > 0 and fit saw at least 20 runs of one repeated value in the training part, no run of repeats is more surprising than the longest of them was (log10 of the runs seen), until it is this many times as long; beyond that each further repeat adds its Markov surprise. 0: runs are judged by the Markov chain alone.',
  },
  {
    name: 'learnUnscaled',
    type: 'boolean',
    default: true,
    description:
      'Whether the spike and level channels learn from readings judged against no noise scale at all (before the first change of a signal that started constant, every change scores |z| = 1000). Off: those readings teach nothing.',
  },
  {
    name: 'skipZeroDropouts',
    type: 'boolean',
    default: false,
    description:
      'A reading the dropout channel names a 0 V dropout (exactly 0 far from the baseline) is scored but enters neither the rolling median window, the step sizes, the swing energy nor the drift channel\'s level, as a missing reading would not; off: it enters them clipped.',
  },
  {
    name: 'stuckRunLearn',
    type: 'number',
    default: 0,
    min: 0,
    max: 1000,
    description:
      "When > 0, after a fit that set a run reference (stuckRunFactor): a run of repeats that ends longer than the reference's longest but at most this many times as long becomes its longest, the count of runs staying the fit's (a run the fit's sample was too short to show alarms once, not on every recurrence; a stuck sensor, far longer, teaches nothing). 0: the reference stays as fit set it.",
  },
  {
    name: 'skipStuck',
    type: 'boolean',
    default: false,
    description:
      "A reading that continues a run of repeats the stuck channel already finds surprising (at least alarmSurprise), longer than any run of the training part, is scored but enters neither the rolling median window, the last readings nor the step sizes: a stuck sensor's repeats are no measure of the signal's spread (they collapse the window's IQR and the mean step, so the noise after the run scores as spikes). Not in the training part of a fit.",
  },
  {
    name: 'learnDropouts',
    type: 'boolean',
    default: true,
    description:
      "Whether a reading the dropout rule names a 0 V dropout teaches the spike and level channels' long-run statistics (its |robust z| is up to 1000) and the swing channel's. Off: it is scored (as a dropout; the swing channel gives it no score of its own) and teaches them nothing.",
  },
  {
    name: 'swingSettle',
    type: 'integer',
    default: 0,
    min: 0,
    max: 1_000_000,
    description:
      "The swing channel learns every energy until it has learned this many, and only then only unsurprising ones: its first ten energies, a dozen correlated readings, are no sample to refuse the others by, and a channel that learned them from a quiet start refused everything after it and stayed surprised (0: from its tenth energy on, as in models written before it).",
  },
  {
    name: 'swingMinSd',
    type: 'number',
    default: 0,
    min: 0,
    max: 10,
    description: 'Narrowest spread of the swing channel\'s log energy it trusts (0: no floor beyond a relative one).',
  },
  {
    name: 'swingFloor',
    type: 'number',
    default: 0,
    min: 0,
    max: 100,
    description: 'Energy floor of the swing channel as a share of the squared noise scale (0: none).',
  },
  {
    name: 'adaptLevel',
    type: 'boolean',
    default: false,
    description:
      'After fit (or resume), re-baseline to the live device: the first adaptWindow readings are collected without alarms (warming_up), then readings are mapped onto the training level and noise scale. For shape models used on any device (the presets); off when a level change from the training data is itself an anomaly.',
  },
  {
    name: 'exceedWindow',
    type: 'integer',
    default: 0,
    min: 0,
    max: 256,
    description:
      'Readings (at most; at most 4 s of them, at least 16) in which the exceedance count weighs how many lie beyond 2.5 robust σ (a slow average of the scale; and 1.5 ADC steps) of the median of the last exceedWindow readings on both sides against how often they do: oscillations and noise bursts in heavy-tailed noise, whose outliers count once however large. Its surprise is read by `auto`, not part of this detector\'s own (0: off).',
  },
  { name: 'adaptWindow', type: 'integer', default: 100, min: 20, max: 100_000, description: 'Live readings adaptLevel collects to measure the device level and noise scale.' },
] as const satisfies readonly DetectorParamSpec[];

type ParamName = (typeof PARAM_SPECS)[number]['name'];
export type RobustParams = { [K in ParamName]: Extract<(typeof PARAM_SPECS)[number], { name: K }>['type'] extends 'boolean' ? boolean : number };

const descriptor: DetectorDescriptor = {
  kind: KIND,
  description:
    'Online robust statistics: rolling median/IQR residuals, HTM-style likelihood of short-term residuals, step-size variance, repeat runs and timestamp gaps. No training needed.',
  trainable: false,
  online: true,
  params: [...PARAM_SPECS],
};

/** Validates and completes user params against the descriptor. */
export function readRobustParams(raw: Record<string, unknown> = {}): RobustParams {
  return readParams(KIND, PARAM_SPECS, raw) as RobustParams;
}

/** One short-term statistic compared with its own long-run mean and spread. */
class Channel {
  readonly stats: Ewm;

  /** `minSd`: the learned spread is never taken as narrower than this (0: only the relative floor). */
  constructor(
    horizon: number,
    private readonly minSd = 0,
  ) {
    this.stats = new Ewm(horizon);
  }

  /** Upper-tail surprise of `x`, then learns from it. */
  surprise(x: number, learn: boolean): number {
    let s = 0;
    if (this.stats.count >= 10) {
      const sd = Math.max(this.stats.std, this.minSd, 1e-9 + Math.abs(this.stats.mean) * 1e-3);
      s = normalTailSurprise((x - this.stats.mean) / sd);
    }
    if (learn) this.stats.update(x);
    return s;
  }
}

/** Each fault channel's surprise (−log10 tail probability) for the last reading. */
export interface Surprises {
  spike: number;
  level: number;
  drift: number;
  swing: number;
  burst: number;
  collapse: number;
  stuck: number;
  dropout: number;
}

/** Serialized state; every number is finite. */
export interface RobustState {
  n: number;
  lastTs: number;
  /** `clockTicks`: readings since the timestamp last moved (absent: 0). */
  sameTs?: number;
  /** True right after `fit`: the next reading starts a new stream, so its distance from the training data is no dropout. */
  resumeGap?: boolean;
  lastValue: number;
  interval: number[];
  repeatRate: number;
  /** Absent in artifacts written before runs were judged as a Markov chain (then: repeatRate). */
  persistRate?: number;
  /** Smallest non-zero step seen (the ADC resolution of a quantised signal); absent until one is seen, and in older artifacts. */
  quantum?: number;
  run: number;
  window: number[];
  /** `localPoint`: the last readings, oldest first (absent when off). */
  local?: number[];
  stepSize: number[];
  shortResidual: number;
  /** The last reading's robust z, for `levelClip` (absent: 0). */
  lastZ?: number;
  /** The last reading's spike surprise, for `pairSpike` (absent: 0). */
  lastSpike?: number;
  shortStep: number;
  channels: { spike: number[]; level: number[]; burst: number[]; variance: number[] };
  peak: number;
  peakAge: number;
  /** The channel of `peak` (absent in artifacts written before hold-off was per channel). */
  peakChannel?: string;
  /** The robust |z| of the reading that raised `peak` (absent: none yet, or written before `holdoffBreak`). */
  peakZ?: number;
  /** `holdoffRearm`: false while the channel that raised `peak` has stayed at alarm level since (absent: it has fallen, or written before it). */
  peakQuiet?: boolean;
  /** [total, weight, maxBin, ...64 bin counts]. */
  rarity: number[];
  /** True once fitted (absent in older artifacts and unfitted detectors). */
  fitted?: boolean;
  calibration: Calibration;
  /** Drift channel: smoothed level, its last `driftLag` values (oldest first) and their lagged-difference statistics. Absent in older artifacts. */
  drift?: { fast: number; lagged: number[]; stats: number[]; flags?: number[]; armed?: boolean; settle?: number };
  /**
   * Drift channel by time (`driftSeconds` > 0): smoothed level, the time of the last reading and of
   * the last level kept, the levels kept (oldest first, one per `driftSeconds / 8`), flags (1: an
   * alarm in that stretch, no reference), the lagged-difference statistics and the armed flag.
   * Absent in older artifacts and with `driftSeconds` 0.
   */
  /** With `driftSmooth`: `weight`, `unsettled` and the last alarm-level difference's [sign, ts] (absent in older artifacts: a settled level, no alarm). */
  timeDrift?: { level: number; ts: number; keptTs: number; kept: number[]; flags: number[]; pending: number; stats: number[]; armed: boolean; weight?: number; unsettled?: boolean; alarm?: number[] };
  /** Swing channel: short mean of squared robust residuals and the statistics of its log. */
  swing?: { energy: number; stats: number[] };
  /** `exceedWindow`: the exceedance count (absent when off, and in artifacts written before it). */
  exceed?: ExceedanceState;
  /** Power-law tail [u, p, alpha] of |robust z| learned by `fit`, or null. */
  spikeTail?: number[] | null;
  /** True when `fit` found the training |robust z| Gaussian-like (milder spike guards); absent in older artifacts and otherwise. */
  spikeGaussian?: boolean;
  /** `stuckRunFactor`: [longest training run of repeats, runs seen] when fit saw enough runs; absent otherwise and in older artifacts. */
  runReference?: number[];
  /**
   * `adaptLevel` only, after `fit`: the training frame `ref` [centre, scale]; the live frame
   * `live` once re-baselined (null before); `collecting` while the re-baseline window fills,
   * with the live readings collected so far as [ts, value] pairs in `pending`.
   */
  adapt?: { ref: number[]; live: number[] | null; collecting: boolean; pending: number[][] };
}

export class RobustDetector implements Detector {
  readonly kind = KIND;
  readonly trainable = false;
  readonly minFitSamples: number;
  threshold: number;
  private readonly p: RobustParams;
  private readonly seed: number;
  private n = 0;
  private lastTs = 0;
  /** `clockTicks`: readings since the timestamp last moved. */
  private sameTs = 0;
  private resumeGap = false;
  private lastValue = 0;
  private readonly interval: Ewm;
  private repeatRate = 0.5;
  /** Chance that a repeat is followed by another (runs of a quantised signal); see `step`. */
  private persistRate = 0.5;
  /** Smallest non-zero step between readings so far: the resolution of a quantised signal (see `step`). */
  private quantum = Infinity;
  private run = 1;
  private window: RollingWindow;
  private readonly stepSize: Ewm;
  private shortResidual = 0;
  private shortStep = 0;
  private readonly spike: Channel;
  private readonly level: Channel;
  private readonly burst: Channel;
  private readonly variance: Channel;
  private readonly rarity: Rarity;
  private peak = 0;
  private peakAge = 0;
  /** The channel that raised `peak`: hold-off quiets that channel's echoes, not a different kind of event. */
  private peakChannel: keyof Surprises | '' = '';
  /** The robust |z| of the reading that raised `peak`, for `holdoffBreak` (unknown: infinite, no break). */
  private peakZ = Number.POSITIVE_INFINITY;
  /** `holdoffRearm`: whether the channel that raised `peak` has fallen below alarmSurprise since. */
  private peakQuiet = true;
  private driftFast = 0;
  private driftLagged: RollingRing;
  /** 1 where the reading at the same place in `driftLagged` alarmed: no reference for a later change. */
  private driftFlags: RollingRing;
  private driftArmed = true;
  /** Readings after a resume whose smoothed level has not settled yet (flagged as no reference). */
  private driftSettle = 0;
  private readonly drift: Ewm;
  /** Drift channel by time (`driftSeconds` > 0); see `timeDriftSurprise`. */
  private tdLevel = NaN;
  private tdTs = NaN;
  private tdKeptTs = NaN;
  private tdKept = new RollingRing(TIME_DRIFT_STEPS);
  private tdFlags = new RollingRing(TIME_DRIFT_STEPS);
  private tdPending = 0;
  private readonly tdStats = new Ewm(10 * TIME_DRIFT_STEPS);
  private tdArmed = true;
  /** `driftSmooth`: the weight behind `tdLevel` (0 before the first reading), and whether it has not settled yet. */
  private tdWeight = 0;
  private tdUnsettled = false;
  /** `driftSmooth`: the sign of the last alarm-level difference and its time (see `timeDriftSurprise`). */
  private tdAlarmSign = 0;
  private tdAlarmTs = -Infinity;
  private swingEnergy = 0;
  private readonly swing: Channel;
  /** `exceedWindow`: the exceedance count (undefined when off). */
  private exceed: Exceedance | undefined;
  /** The exceedance count's surprise for the last reading (0 when off; read by `auto`, not part of this detector's own surprise). */
  exceedSurprise = 0;
  /** The largest exceedance surprise of the last fit's readings (after warm-up; read by `auto`'s `exceedTrained`). */
  exceedMax = 0;
  private spikeTail: PowerTail | undefined;
  private spikeGaussian = false;
  /** `stuckRunFactor`: the training part's longest run of repeats and how many runs it held (set by fit). */
  private runReference: { longest: number; runs: number } | undefined;
  /** Run lengths collected during fit (undefined otherwise). */
  private runLog: number[] | undefined;
  private absZ = 0;
  /** The last reading's robust z (within ±50), for `levelClip`. */
  private lastZ = 0;
  /** The last reading's spike surprise (weighted), and `pairSpike` for the current one. */
  private lastSpike = 0;
  private pair = 0;
  /** `localPoint`: the last readings, for their median (undefined when off). */
  private local: RollingWindow | undefined;
  /** True once `fit` has run (`rarityUntilFit` then stops re-expressing surprises as rarity). */
  private fitted = false;
  /** The rolling median and robust scale the last reading was judged against (training frame). */
  private bandMedian = NaN;
  private bandScale = 0;
  /** Each channel's surprise for the last reading (read by `auto`; reused, not copied). */
  readonly parts: Surprises = { spike: 0, level: 0, drift: 0, swing: 0, burst: 0, collapse: 0, stuck: 0, dropout: 0 };
  private calibration: Calibration = DEFAULT_CALIBRATION;
  private metrics: Record<string, number> = {};
  /** adaptLevel: the training frame (set by fit), the live frame and mapping once re-baselined, and the live readings collected meanwhile. */
  private adaptRef: LevelFrame | undefined;
  private adaptLive: LevelFrame | undefined;
  private adaptGain = 1;
  private adaptCollecting = false;
  private adaptPending: Reading[] = [];

  constructor(params: RobustParams, seed: number, threshold: number) {
    this.p = params;
    this.seed = seed;
    this.threshold = threshold;
    this.minFitSamples = Math.max(2 * params.warmup, 200);
    this.window = new RollingWindow(params.window);
    this.local = params.localPoint > 0 ? new RollingWindow(params.localPoint) : undefined;
    this.interval = new Ewm(params.horizon);
    this.stepSize = new Ewm(params.horizon);
    this.spike = new Channel(params.horizon);
    this.level = new Channel(params.horizon);
    this.burst = new Channel(params.horizon);
    this.variance = new Channel(params.horizon);
    this.rarity = new Rarity(Math.max(1, params.rarityHorizon));
    this.driftLagged = new RollingRing(params.driftLag);
    this.driftFlags = new RollingRing(params.driftLag);
    // Lagged differences of a wandering level are strongly correlated: average over many lags.
    this.drift = new Ewm(Math.max(params.horizon, 10 * params.driftLag));
    this.swing = new Channel(params.horizon, params.swingMinSd);
    this.exceed = params.exceedWindow > 0 ? new Exceedance(params.exceedWindow, params.horizon) : undefined;
  }

  async fit(normal: readonly Reading[], options: FitOptions = {}): Promise<FitReport> {
    return this.fitNow(normal, options);
  }

  /**
   * `fit`, synchronously (one pass over the readings; nothing to wait for). `moved`, parallel to
   * `normal`, says which readings' raw value moved (see `score`; absent: none).
   */
  fitNow(normal: readonly Reading[], options: FitOptions = {}, moved?: readonly boolean[]): FitReport {
    if (normal.length < this.minFitSamples) {
      throw new DetectorError('insufficient-data', `The robust detector needs at least ${this.minFitSamples} normal readings to fit (got ${normal.length}).`);
    }
    const far = options.targetFalseAlarmRate ?? DEFAULT_TARGET_FAR;
    const holdout = Math.max(1, Math.floor(normal.length * (options.holdoutFraction ?? 0.25)));
    const split = normal.length - holdout;
    const raw: number[] = [];
    const absZ: number[] = [];
    this.spikeTail = undefined;
    this.spikeGaussian = false;
    this.runReference = undefined;
    this.runLog = this.p.stuckRunFactor > 0 ? [] : undefined;
    this.fitted = true;
    this.exceedMax = 0;
    for (const [i, r] of normal.entries()) {
      if (options.signal?.aborted) {
        const e = new DetectorError('aborted', 'Fit aborted.');
        e.name = 'AbortError';
        throw e;
      }
      const s = this.step(r, moved?.[i] === true);
      if (this.n > this.p.warmup && this.exceedSurprise > this.exceedMax) this.exceedMax = this.exceedSurprise;
      if (i < split && this.n > this.p.warmup) absZ.push(this.absZ);
      if (i === split - 1) {
        // With `adaptLevel` the model scores other devices than the one it was trained on (presets),
        // whose noise tails its training data cannot vouch for: keep the guards.
        this.spikeGaussian = this.p.adaptLevel !== true && isGaussianLike(absZ);
        this.spikeTail = this.spikeGaussian ? undefined : fitPowerTail(absZ);
        const runs = this.runLog;
        if (runs && runs.length >= MIN_REFERENCE_RUNS) this.runReference = { longest: Math.max(...runs), runs: runs.length };
        this.runLog = undefined;
      }
      if (i >= split && this.n > this.p.warmup) raw.push(logSurprise(s.surprise));
      if (i % 10_000 === 0) options.onProgress?.(i / normal.length, 'warm-start');
    }
    // The (1 − far) quantile of a few thousand held-out surprises is little more than their
    // maximum, which live data exceeds far more often than `far`: extrapolate the tail instead.
    const cal = fitTailCalibration(raw, far);
    // A perfectly quiet hold-out gives no spread; keep the default slope rather than a hair trigger.
    this.calibration = raw.length > 0 ? { ...cal, center: Math.max(cal.center, Math.log(2)), scale: Math.max(cal.scale, 0.05) } : { ...DEFAULT_CALIBRATION, targetFalseAlarmRate: far };
    const alarms = raw.filter((s) => calibrate(s, this.calibration) >= this.threshold).length;
    this.metrics = { heldout_false_alarm_rate: raw.length ? alarms / raw.length : 0, surprise_center: this.calibration.center, heldout_samples: raw.length };
    options.onProgress?.(1, 'calibrated');
    if (this.p.adaptLevel) {
      this.adaptRef = { center: this.window.quantile(0.5), scale: levelFrame(normal.map((r) => r.value)).scale };
    }
    // Live readings follow the training data after an arbitrary pause: don't call that a dropout.
    this.resume();
    return { kind: KIND, samples: normal.length, threshold: this.threshold, metrics: { ...this.metrics } };
  }

  resume(): void {
    this.resumeGap = true;
    if (this.p.adaptLevel && this.adaptRef) {
      this.adaptCollecting = true;
      this.adaptPending = [];
      this.adaptLive = undefined;
      this.adaptGain = 1;
    }
  }

  /**
   * `rawMoved`: for a caller that scores a transformed series (`auto`'s readings with the cycle
   * removed, or their distances from a known state's level), whether the raw reading differs from
   * the one before it: a repeat of the transformed value is then no repeat of the sensor, and the
   * stuck channel does not count it.
   */
  score(reading: Reading, rawMoved = false): Score {
    if (this.adaptCollecting) {
      this.collect(reading);
      const quiet = quietScore();
      // The reading that completes the re-baseline has been replayed: it has a band.
      if (!this.adaptCollecting) this.addBand(quiet);
      return quiet;
    }
    const { surprise, signal, parts } = this.step(reading, rawMoved);
    if (this.n <= this.p.warmup) return quietScore();
    const score = this.scoreOf(surprise, signal, parts);
    this.addBand(score);
    return score;
  }

  /** A (final) surprise as a calibrated score, named by its signal and its largest parts. */
  private scoreOf(surprise: number, signal: Signal, parts: Surprises): Score {
    const anomaly = calibrate(logSurprise(surprise), this.calibration);
    const isAnomaly = anomaly >= this.threshold;
    const contributions = topParts(parts);
    return {
      anomaly_score: anomaly,
      is_anomaly: isAnomaly,
      confidence: confidenceOf(anomaly, this.threshold),
      method: KIND,
      signal: isAnomaly || surprise > 0 ? signal : 'none',
      contributions,
      channel: contributions[0]?.name ?? 'none',
    };
  }

  /**
   * The time `dt` (ms) the clock moved, per reading since it last moved (`clockTicks`: readings that
   * share a timestamp count, and a reading the clock did not move for is no interval: NaN;
   * otherwise `dt` itself). Counts such readings as it goes.
   */
  private perReading(dt: number): number {
    if (!this.p.clockTicks) return dt;
    if (dt === 0) {
      this.sameTs++;
      return Number.NaN;
    }
    const per = dt > 0 ? dt / (1 + this.sameTs) : dt;
    if (dt > 0) this.sameTs = 0;
    return per;
  }

  /** The dropout channel's surprise at a gap of `dt` ms in the timestamps (0 when it is no gap, or no interval is learned yet). */
  private gapSurprise(dt: number): number {
    const typical = this.interval.mean;
    if (this.interval.count < 10 || !(typical > 0) || !(dt > this.p.gapFactor * typical)) return 0;
    return Math.min(MAX_SURPRISE, 5 + 5 * Math.log2(dt / (this.p.gapFactor * typical)));
  }

  /** Without fit (and `rarityHorizon`), a surprise past warm-up is re-expressed as its rarity among the stream's own. */
  private rarityOf(surprise: number): number {
    const p = this.p;
    return p.rarityHorizon > 0 && this.n > p.warmup && !(p.rarityUntilFit && this.fitted) ? this.rarity.surprise(surprise) : surprise;
  }

  /**
   * Judges only a reading's timestamp gap (the dropout channel, as `score` would) and moves the
   * member's clock to it, leaving every other statistic alone. For readings the other channels may
   * not see yet: `auto` relearning a cycle's phase after a long gap, where the gap itself is the
   * event and would otherwise surface only when the channels resume, seconds late.
   */
  scoreGap(reading: Reading): Score {
    this.exceedSurprise = 0;
    const parts = this.parts;
    for (const k of SURPRISE_KEYS) parts[k] = 0;
    if (this.adaptCollecting || this.n === 0 || this.resumeGap) return quietScore();
    parts.dropout = this.gapSurprise(this.perReading(reading.ts - this.lastTs));
    this.lastTs = reading.ts;
    if (this.n <= this.p.warmup || parts.dropout === 0) return quietScore();
    return this.scoreOf(this.rarityOf(parts.dropout), 'dropout', parts);
  }

  /** The surprise that scores at the threshold, and the |robust z| that reaches it through the spike channel's absolute guard (cached per calibration). */
  private bandFor: { center: number; scale: number; threshold: number; guard: number; z: number } | undefined;

  /** The spike channel's absolute guard scale: milder once `fit` found Gaussian-like noise. */
  private spikeZScale(): number {
    return this.spikeGaussian ? GAUSSIAN_GUARD_SHARE * this.p.absoluteZScale : this.p.absoluteZScale;
  }

  /**
   * `expected` (the rolling median) and the normal band: readings beyond `z` robust sigmas of the
   * median are far enough out for the spike channel to alarm (in the device's own units).
   */
  private addBand(score: Score): void {
    if (!(this.bandScale > 0) || !Number.isFinite(this.bandMedian)) return;
    const cal = this.calibration;
    let b = this.bandFor;
    const guard = this.spikeZScale();
    if (!b || b.center !== cal.center || b.scale !== cal.scale || b.threshold !== this.threshold || b.guard !== guard) {
      const t = Math.min(Math.max(this.threshold, 1e-6), 1 - 1e-6);
      const surpriseAt = Math.exp(cal.center + cal.scale * Math.log(t / (1 - t)));
      const zGuard = guard > 0 ? guard * zForSurprise(surpriseAt) : zForSurprise(surpriseAt);
      b = { center: cal.center, scale: cal.scale, threshold: this.threshold, guard, z: zGuard };
      this.bandFor = b;
    }
    const live = this.adaptLive;
    const ref = this.adaptRef;
    const expected = live && ref ? live.center + (this.bandMedian - ref.center) / this.adaptGain : this.bandMedian;
    const half = (b.z * this.bandScale) / (live && ref ? this.adaptGain : 1);
    score.expected = expected;
    score.lower = expected - half;
    score.upper = expected + half;
  }

  /**
   * adaptLevel: collects a live reading; once `adaptWindow` are in, measures the live frame,
   * learns the device's sampling interval and repeat rate from them, and replays them through
   * the mapping (their surprises raise no alarm, but a surprising one starts a hold-off as usual).
   */
  private collect(reading: Reading): void {
    if (!Number.isFinite(reading.value)) return;
    this.adaptPending.push({ ts: reading.ts, value: reading.value });
    if (this.adaptPending.length < this.p.adaptWindow) return;
    const live = this.adaptPending;
    const values = live.map((r) => r.value);
    this.setLive(levelFrame(values));
    this.adaptCollecting = false;
    this.adaptPending = [];
    this.interval.load([0, 0, 0]);
    this.repeatRate = repeatFraction(values);
    this.persistRate = persistFraction(values);
    // The resolution in the training frame changes with the re-baseline's gain: learn it afresh.
    this.quantum = Infinity;
    for (const r of live) this.step(r);
  }

  private setLive(live: LevelFrame | undefined): void {
    this.adaptLive = live;
    this.adaptGain = live && this.adaptRef ? frameGain(this.adaptRef, live) : 1;
  }

  /**
   * `v` in the training frame (identity unless `adaptLevel` re-baselined), or undefined while the
   * re-baseline window is still filling: lets a composite kind feed its other channels the same
   * level-adapted values.
   */
  trainingFrameValue(v: number): number | undefined {
    return this.adaptCollecting ? undefined : this.mapped(v);
  }

  /** A live value in the training frame (identity unless re-baselined). */
  private mapped(v: number): number {
    const live = this.adaptLive;
    return live && this.adaptRef ? this.adaptRef.center + (v - live.center) * this.adaptGain : v;
  }

  private step(reading: Reading, rawMoved = false): { surprise: number; signal: Signal; parts: Surprises } {
    const p = this.p;
    const x = this.mapped(reading.value);
    const parts = this.parts;
    parts.spike = 0;
    parts.level = 0;
    parts.drift = 0;
    parts.swing = 0;
    parts.burst = 0;
    parts.collapse = 0;
    parts.stuck = 0;
    parts.dropout = 0;
    this.pair = 0;
    if (!Number.isFinite(x)) {
      parts.dropout = MAX_SURPRISE;
      return { surprise: MAX_SURPRISE, signal: 'dropout', parts };
    }
    const first = this.n === 0;
    this.n += 1;

    if (this.resumeGap) {
      // The first live reading after fit: no gap check, and the drift channel compares live levels
      // only, once its smoothed level has settled (earlier ones are no reference).
      this.resumeGap = false;
      this.driftLagged = new RollingRing(p.driftLag);
      this.driftFlags = new RollingRing(p.driftLag);
      this.driftFast = x;
      this.driftSettle = DRIFT_SETTLE;
      this.resetTimeDrift();
    } else if (!first) {
      const dt = this.perReading(reading.ts - this.lastTs);
      if (!Number.isNaN(dt)) {
        const typical = this.interval.mean;
        parts.dropout = this.gapSurprise(dt);
        if (dt >= 0) this.interval.update(this.interval.count >= 10 ? Math.min(dt, 3 * typical) : dt);
      }
    }

    const med = this.window.quantile(0.5);
    const ready = this.window.length >= Math.min(8, p.window);
    const iqr = ready ? (this.window.quantile(0.75) - this.window.quantile(0.25)) / IQR_TO_SIGMA : 0;
    const stepSigma = this.stepSize.mean * MEAN_ABS_TO_SIGMA;
    // A reading quantised to steps of q is only known to within q: its error has a standard
    // deviation of at least q/√12 (Sheppard). Without this floor, noise below one ADC step leaves an
    // IQR of 0, every one-step flicker scores |z| ≈ 1000 and the learned |z| spread swallows real spikes.
    const resolution = Number.isFinite(this.quantum) ? this.quantum / SQRT12 : 0;
    const scale = Math.max(iqr, 0.25 * stepSigma, resolution, 1e-9 * (Math.abs(med) + 1), 1e-12);
    this.bandMedian = ready ? med : NaN;
    this.bandScale = ready ? scale : 0;
    const z = ready ? (x - med) / scale : 0;
    const step = first ? 0 : Math.abs(x - this.lastValue);

    let notSignal = false;
    let isolated = false;
    let counted = false;
    if (ready) {
      let zc = Math.min(Math.abs(z), 1e3);
      const local = this.local;
      if (local && local.length === local.capacity) {
        // The step noise of white noise is √2 times its own.
        const localScale = Math.max(stepSigma / Math.SQRT2, resolution, 1e-9 * (Math.abs(med) + 1), 1e-12);
        zc = Math.max(zc, Math.min(Math.abs(x - local.quantile(0.5)) / localScale, 1e3));
      }
      // A disconnected input reads exactly 0 V (see the dropout rule below); with `skipZeroDropouts`
      // such a reading is no measurement of the signal and teaches the rolling statistics nothing.
      const rawMed = this.adaptLive && this.adaptRef ? this.adaptLive.center + (med - this.adaptRef.center) / this.adaptGain : med;
      const zeroDropout = p.zeroDropout && reading.value === 0 && Math.abs(rawMed) > (20 * scale) / this.adaptGain;
      notSignal = zeroDropout && p.skipZeroDropouts;
      // No noise scale yet (a signal that started constant: no spread, no step, no ADC step seen):
      // |z| is 1000 for any change, which would sit in the learned spreads for thousands of readings.
      // With `learnDropouts` off a 0 V dropout (|z| of up to 1000) teaches them nothing either: one such
      // reading kept the spike channel's learned spread at ~30 for minutes. The swing block below
      // waits for learnZ too, so such a reading also gets no swing score and teaches it nothing.
      const learnZ = (p.learnUnscaled || iqr > 0 || stepSigma > 0 || resolution > 0) && (p.learnDropouts || !zeroDropout);
      // The learned distributions alone are too optimistic for heavy-tailed noise; a reading must
      // also be far out in absolute robust-z terms (unless disabled, as for rarity mode).
      let spike = Math.min(this.spike.surprise(zc, learnZ), absoluteSurprise(zc, this.spikeZScale()));
      // Heavy-tailed noise: a spike must also be rare under the tail of |z| seen in training
      // (on Gaussian-like training noise that tail is no power law and would cap a 10σ spike at ~5).
      if (this.spikeTail) spike = Math.min(spike, powerTailSurprise(zc, this.spikeTail));
      parts.spike = p.spikeWeight * spike;
      this.pair = this.spikeTail && p.adaptLevel !== true && this.lastZ * z > 0 ? 2 * Math.min(parts.spike, this.lastSpike) : 0;
      this.lastSpike = parts.spike;
      this.absZ = zc;
      const sh = 1 / p.short;
      const zl = Math.max(-50, Math.min(50, z));
      const clip = p.levelClip;
      isolated = clip > 0 && Math.abs(zl) > clip && !(this.lastZ * zl > 0 && Math.abs(this.lastZ) > clip);
      this.shortResidual += sh * ((isolated ? Math.sign(zl) * clip : zl) - this.shortResidual);
      this.lastZ = zl;
      parts.level = p.levelWeight * Math.min(this.level.surprise(Math.abs(this.shortResidual), learnZ), absoluteSurprise(Math.abs(this.shortResidual) * Math.sqrt(2 * p.short - 1), p.absoluteZScale));
      const ratio = Math.log((this.shortStep + 1e-12) / (this.stepSize.mean + 1e-12));
      parts.burst = p.varianceWeight * this.burst.surprise(ratio, false);
      parts.collapse = p.varianceWeight * this.variance.surprise(-ratio, false);
      this.burst.stats.update(ratio);
      this.variance.stats.update(-ratio);
      const xc = Math.max(med - 6 * scale, Math.min(med + 6 * scale, x));
      // Starts once the median window is full, so its statistics do not learn the start-up transient
      // (and, unless `learnUnscaled`, once there is a noise scale: energies against none are 0).
      if (p.swingWeight > 0 && this.window.length === p.window && learnZ) {
        // Raw residual energy, not z²: the window's IQR widens with an oscillation and would hide it.
        const r = Math.min(Math.abs(x - med), 10 * scale);
        if (this.swing.stats.count === 0) this.swingEnergy = r * r;
        if (!notSignal) this.swingEnergy += (1 / p.swingShort) * (r * r - this.swingEnergy);
        const e = Math.log(this.swingEnergy + p.swingFloor * scale * scale + 1e-12);
        const sw = this.swing.surprise(e, false);
        // Learning only from unsurprising energy keeps a long oscillation from becoming normal; until
        // `swingSettle` energies are learned, every one is (a sample to judge surprise by first).
        if (sw < p.alarmSurprise || this.swing.stats.count < p.swingSettle) this.swing.stats.update(e);
        parts.swing = p.swingWeight * sw;
      }
      // The exceedance count starts, as the swing channel does, once the median window is full and a noise scale is known.
      counted = learnZ && this.window.length === p.window;
      const xd = notSignal ? med : xc;
      parts.drift = p.driftWeight * (p.driftSeconds > 0 ? this.timeDriftSurprise(xd, reading.ts, scale) : this.driftSurprise(xd));
      // A reading of exactly 0 V far from a live baseline is the ADC seeing a disconnected input
      // (judged in the device's own units: the mapping moves 0 V and the baseline).
      if (zeroDropout) {
        // The best explanation of such a reading: name it a dropout, whichever channel it also moved most.
        const other = Math.max(parts.spike, parts.level, parts.swing, parts.drift, parts.burst, parts.collapse);
        parts.dropout = Math.max(parts.dropout, other + 1, 10);
      }
    }

    if (!first) {
      const repeated = step === 0 && !rawMoved;
      // Repeats of a slowly varying, coarsely quantised signal come in runs: the chance a run goes
      // on (persistence) is learned apart from the chance one starts, so a run is judged as a
      // two-state Markov chain rather than as independent repeats.
      const wasRun = this.run >= 2;
      const ref = this.runReference;
      if (this.runLog && !repeated && wasRun) this.runLog.push(this.run);
      else if (ref && p.stuckRunLearn > 0 && !repeated && wasRun) {
        // `stuckRunLearn`: a run that has ended not far beyond the longest is the new longest.
        if (this.run > ref.longest && this.run <= p.stuckRunLearn * ref.longest) this.runReference = { longest: this.run, runs: ref.runs };
      }
      this.run = repeated ? this.run + 1 : 1;
      if (this.run >= p.stuckMinRun) {
        const start = Math.min(0.99, Math.max(0.01, this.repeatRate));
        const goOn = Math.min(0.99, Math.max(0.01, this.persistRate, start));
        parts.stuck = -Math.log10(start) - (this.run - 2) * Math.log10(goOn);
        if (ref) {
          // A run no longer than the training part's longest is no rarer than that longest was (one
          // in `runs`) until it is `stuckRunFactor` times as long; each repeat beyond adds its own surprise.
          const beyond = Math.max(0, this.run - p.stuckRunFactor * ref.longest);
          parts.stuck = Math.min(parts.stuck, Math.log10(ref.runs) - beyond * Math.log10(goOn));
        }
      }
      // A run already surprising is no reference for how long runs last (it would teach the rates
      // that a stuck sensor is normal while it is still stuck).
      if (parts.stuck < p.alarmSurprise) {
        if (wasRun) this.persistRate += (1 / p.horizon) * ((repeated ? 1 : 0) - this.persistRate);
        this.repeatRate += (1 / p.horizon) * ((repeated ? 1 : 0) - this.repeatRate);
      }
      if (step > 0 && step < this.quantum) this.quantum = step;
      const cap = this.stepSize.count >= 10 ? 8 * this.stepSize.mean + 1e-12 : Infinity;
      this.shortStep += (1 / p.short) * (step - this.shortStep);
      // With `skipStuck` a surprising stuck run, longer than any run of the training part, teaches
      // the spread nothing (nor the median window, below). Not while a fit still learns how long
      // runs last (`runLog`): on a signal that sits on one ADC code, long runs are its normal.
      if (p.skipStuck && parts.stuck >= p.alarmSurprise && this.runLog === undefined && (!ref || this.run > ref.longest)) notSignal = true;
      if (!notSignal) this.stepSize.update(Math.min(step, cap));
    }

    // Counted after the stuck channel: a stuck run's or a 0 V dropout's readings are not counted.
    this.exceedSurprise = 0;
    if (this.exceed && counted && !notSignal) {
      // At most EXCEED_SECONDS of readings (at least EXCEED_MIN_READINGS), so a slow stream's count lets go of an event soon after it ends.
      const typical = this.interval.mean;
      const n = typical > 0 ? Math.max(EXCEED_MIN_READINGS, Math.min(this.exceed.window, Math.round((EXCEED_SECONDS * 1000) / typical))) : this.exceed.window;
      const floor = Number.isFinite(this.quantum) ? EXCEED_QUANTA * this.quantum : 0;
      // Its rates and band learn only while no other channel is at its alarm: a level shift's
      // readings are beyond on one side (and on the other as it returns), and the IQR of a window
      // holding both levels is wide; learnt, they hid an oscillation a minute later.
      const quiet = Math.max(parts.spike, parts.level, parts.drift, parts.swing, parts.burst, parts.collapse, parts.stuck, parts.dropout) < p.alarmSurprise;
      this.exceedSurprise = this.exceed.push(x, this.bandScale, floor, quiet ? p.alarmSurprise : 0, n);
    }
    if (!notSignal) {
      this.window.push(x);
      this.local?.push(x);
    }
    this.lastTs = reading.ts;
    this.lastValue = x;

    let best: keyof Surprises = 'spike';
    for (const k of SURPRISE_KEYS) if (parts[k] > parts[best]) best = k;
    let surprise = Math.min(MAX_SURPRISE, parts[best]);
    if (surprise >= p.alarmSurprise && this.driftFlags.length > 0) this.driftFlags.setNewest(1);
    if (surprise >= p.alarmSurprise) this.tdPending = 1;
    surprise = this.rarityOf(surprise);

    if (p.holdoff > 0) {
      this.peakAge += 1;
      // With holdoffRearm the hold-off also waits for its channel to fall below the alarm level once.
      if (!this.peakQuiet && this.peakChannel !== '' && parts[this.peakChannel] < p.alarmSurprise) this.peakQuiet = true;
      if (this.peakAge > p.holdoff && (this.peakQuiet || !p.holdoffRearm)) this.peak = 0;
      if (surprise >= p.alarmSurprise) {
        // Within the hold-off a different channel is a different kind of event (a stuck sensor
        // after a spike) when it clearly clears the alarm level itself.
        const otherEvent = best !== this.peakChannel && surprise > p.alarmSurprise * (1 + p.holdoffMargin);
        // A stuck run that goes on grows its own surprise reading by reading: that is the event
        // itself, not an echo of it, so it is never held off.
        const growingRun = best === 'stuck' && this.peakChannel === 'stuck' && this.run > 2 && surprise > this.peak;
        const larger = p.holdoffBreak > 0 && this.clearOutlier && this.absZ > p.holdoffBreak * this.peakZ;
        if (otherEvent || growingRun || larger || surprise > this.peak * (1 + p.holdoffMargin)) {
          this.peak = surprise;
          this.peakAge = 0;
          this.peakChannel = best;
          this.peakZ = this.absZ;
          this.peakQuiet = false;
        } else surprise *= p.holdoffFactor;
      }
    }
    // Residual energy that is mostly one-sided is a change of level (a steep ramp), not a swing; a
    // lone reading beyond `levelClip` is a spike, whichever channel it moved most.
    const swingSignal = isolated ? 'spike' : Math.abs(this.shortResidual) > 2 ? 'level_shift' : SIGNAL_OF.swing;
    const signal = best === 'swing' ? swingSignal : SIGNAL_OF[best];
    return { surprise, signal, parts };
  }

  /**
   * Two-sided surprise of the change in a smoothed level over `driftLag` readings, against the
   * learned spread of that change; learns only from unsurprising changes.
   */
  private driftSurprise(x: number): number {
    const lagged = this.driftLagged;
    this.driftFast = lagged.length === 0 && this.drift.count === 0 ? x : this.driftFast + 0.1 * (x - this.driftFast);
    let s = 0;
    // An anomalous reading is no reference: comparing with it would alarm again driftLag later.
    if (lagged.full && this.driftFlags.oldest === 0) {
      const d = this.driftFast - lagged.oldest;
      const st = this.drift;
      if (st.count >= 10) {
        const sd = Math.max(st.std, 1e-9 + Math.abs(st.mean) * 1e-3);
        s = normalTailSurprise(Math.abs(d - st.mean) / sd);
      }
      if (s < this.p.alarmSurprise) st.update(d);
    }
    lagged.push(this.driftFast);
    this.driftFlags.push(this.driftSettle > 0 ? 1 : 0);
    if (this.driftSettle > 0) this.driftSettle--;
    // One alarm per change: a lasting difference stays quiet until it has gone back to ordinary.
    if (!this.driftArmed) {
      if (s < 1) this.driftArmed = true;
      return 0;
    }
    if (s >= this.p.alarmSurprise) this.driftArmed = false;
    return s;
  }

  /**
   * The drift channel by time (`driftSeconds` > 0): a level smoothed over an eighth of
   * `driftSeconds` (by timestamps) against the level kept `driftSeconds` earlier, two-sided, against
   * the learned spread of that difference (learned once per kept level, from unsurprising ones, so
   * its memory is in time, not readings). A stretch that held an alarm is no reference. One alarm
   * per change, as the reading-based drift channel. With `driftSmooth` the level is a settled,
   * normalised average (see below), the spread is at least DRIFT_NOISE_FLOOR of `noise` (the robust
   * noise scale), and a change's way back is no new alarm.
   */
  private timeDriftSurprise(x: number, ts: number, noise: number): number {
    const step = (this.p.driftSeconds * 1000) / TIME_DRIFT_STEPS;
    const smooth = this.p.driftSmooth * 1000;
    if (!Number.isFinite(this.tdLevel)) {
      this.tdLevel = x;
      this.tdTs = ts;
      this.tdKeptTs = ts;
      this.tdWeight = 1;
      this.tdUnsettled = smooth > 0;
    } else if (smooth > 0) {
      // The level is Σ x·e^(−age/τ) / Σ e^(−age/τ): right from the first reading, not pulled toward
      // it for several τ. Until the weight is near its steady state 1 / (1 − decay) the average
      // spans fewer readings than the learned spread of its differences assumes, so it is neither
      // compared nor kept as a reference (after a start, or a pause: `resume`).
      const dt = Math.max(0, ts - this.tdTs);
      const decay = Math.exp(-dt / smooth);
      // A level restored without its weight is taken as settled (at a repeated timestamp, as one reading).
      const w = this.tdWeight > 0 ? this.tdWeight : decay < 1 ? 1 / (1 - decay) : 1;
      this.tdWeight = w * decay + 1;
      this.tdLevel += (x - this.tdLevel) / this.tdWeight;
      if (dt > 0) this.tdUnsettled = this.tdWeight * (1 - decay) < SETTLED_WEIGHT;
      if (ts > this.tdTs) this.tdTs = ts;
    } else {
      const dt = Math.max(0, ts - this.tdTs);
      this.tdLevel += (1 - Math.exp(-dt / step)) * (x - this.tdLevel);
      if (ts > this.tdTs) this.tdTs = ts;
    }
    const kept = this.tdKept;
    const st = this.tdStats;
    let s = 0;
    let d = NaN;
    if (kept.full && this.tdFlags.oldest === 0 && !this.tdUnsettled) {
      d = this.tdLevel - kept.oldest;
      if (st.count >= 10) {
        const sd = Math.max(st.std, 1e-9 + Math.abs(st.mean) * 1e-3, smooth > 0 ? DRIFT_NOISE_FLOOR * noise : 0);
        s = normalTailSurprise(Math.abs(d - st.mean) / sd);
      }
    }
    if (ts - this.tdKeptTs >= step) {
      if (Number.isFinite(d) && s < this.p.alarmSurprise) st.update(d);
      kept.push(this.tdLevel);
      this.tdFlags.push(this.tdUnsettled ? 1 : this.tdPending);
      this.tdPending = 0;
      this.tdKeptTs = ts;
    }
    // The way back of a change the channel alarmed on (a ramp's descent, a level shift's return)
    // is the same event: an alarm-level difference of the other sign within driftSeconds of the
    // last alarm-level one is not raised (with `driftSmooth`).
    if (smooth > 0 && s >= this.p.alarmSurprise) {
      const sign = Math.sign(d - st.mean);
      const wayBack = sign === -this.tdAlarmSign && ts - this.tdAlarmTs <= this.p.driftSeconds * 1000;
      this.tdAlarmTs = ts;
      if (wayBack) return 0;
      this.tdAlarmSign = sign;
    }
    if (!this.tdArmed) {
      if (s < 1) this.tdArmed = true;
      return 0;
    }
    if (s >= this.p.alarmSurprise) this.tdArmed = false;
    return s;
  }

  /** After a pause the time-based drift channel compares live levels only. */
  private resetTimeDrift(): void {
    this.tdLevel = NaN;
    this.tdTs = NaN;
    this.tdKeptTs = NaN;
    this.tdKept = new RollingRing(TIME_DRIFT_STEPS);
    this.tdFlags = new RollingRing(TIME_DRIFT_STEPS);
    this.tdPending = 0;
    this.tdArmed = true;
    this.tdWeight = 0;
    this.tdUnsettled = false;
    this.tdAlarmSign = 0;
    this.tdAlarmTs = -Infinity;
  }

  /** True when `warmup().status` is `ml_ready` (without building the state). */
  get warmedUp(): boolean {
    return !this.adaptCollecting && this.n > this.p.warmup;
  }

  /**
   * On heavy-tailed training noise (a power-law tail guards the spike channel), the surprise of
   * this reading and the one before lying out on the same side together: twice the smaller of their
   * two spike surprises, as for two independent draws (0 otherwise). One reading at 2–3 times the
   * largest normal excursion scores only 4–6 under such a tail, but two in a row do not happen in
   * independent noise: a spike of two or three readings, not a glitch. Not with `adaptLevel` (the
   * presets), which keeps that guard for other devices' noise, not because its own was heavy-tailed.
   */
  get pairSpike(): number {
    return this.pair;
  }

  /** True when a fit found heavy-tailed training noise and guards the spike channel with its power-law tail. */
  get hasSpikeTail(): boolean {
    return this.spikeTail !== undefined;
  }

  /**
   * How many ADC steps (the smallest step seen) the last reading lies from the rolling median
   * (Infinity before a step or a median is known). On a coarsely quantised signal whose noise is
   * below one step, the noise scale is floored at the step's own error and a reading a few codes
   * out scores as a many-sigma spike.
   */
  get quantaFromMedian(): number {
    const q = this.quantum;
    if (!(Number.isFinite(q) && q > 0) || !Number.isFinite(this.bandMedian)) return Number.POSITIVE_INFINITY;
    return Math.abs(this.lastValue - this.bandMedian) / q;
  }

  /**
   * Whether the last reading is a clear outlier on its own: its point surprise is above the bar a
   * different kind of event must clear inside a hold-off.
   */
  get clearOutlier(): boolean {
    return this.parts.spike > this.p.alarmSurprise * (1 + this.p.holdoffMargin);
  }

  /**
   * The last reading's score had only the stuck, dropout and collapse channels spoken (calibrated
   * as this member's own score): what can still alarm on a reading a caller otherwise explains (`auto`'s known states).
   */
  get stateScore(): number {
    const parts = this.parts;
    return calibrate(logSurprise(Math.min(MAX_SURPRISE, Math.max(parts.stuck, parts.dropout, parts.collapse))), this.calibration);
  }

  /** Which of the stuck, dropout and collapse channels spoke loudest on the last reading (see `stateScore`). */
  get stateChannel(): 'stuck' | 'dropout' | 'collapse' {
    const parts = this.parts;
    return parts.dropout >= parts.stuck && parts.dropout >= parts.collapse ? 'dropout' : parts.stuck >= parts.collapse ? 'stuck' : 'collapse';
  }

  /** The learned sampling interval (ms; a long-run mean, part of the state); 0 until 10 intervals were seen. */
  get typicalInterval(): number {
    return this.interval.count >= 10 ? this.interval.mean : 0;
  }

  warmup(): WarmupState {
    if (this.adaptCollecting) {
      const size = this.p.adaptWindow;
      const current = this.adaptPending.length;
      return { window_progress: current / size, window_size: size, current_window: current, status: 'warming_up' };
    }
    const size = this.p.warmup;
    const current = Math.min(this.n, size);
    return { window_progress: size ? current / size : 1, window_size: size, current_window: current, status: this.n > size ? 'ml_ready' : 'warming_up' };
  }

  serialize(): DetectorArtifact {
    const state: RobustState = {
      n: this.n,
      lastTs: this.lastTs,
      ...(this.sameTs > 0 && { sameTs: this.sameTs }),
      ...(this.resumeGap && { resumeGap: true }),
      lastValue: this.lastValue,
      interval: this.interval.toJSON(),
      repeatRate: this.repeatRate,
      persistRate: this.persistRate,
      ...(Number.isFinite(this.quantum) && { quantum: this.quantum }),
      run: this.run,
      window: this.window.values(),
      ...(this.local && { local: this.local.values() }),
      stepSize: this.stepSize.toJSON(),
      shortResidual: this.shortResidual,
      ...(this.lastZ !== 0 && { lastZ: this.lastZ }),
      ...(this.lastSpike !== 0 && { lastSpike: this.lastSpike }),
      shortStep: this.shortStep,
      channels: { spike: this.spike.stats.toJSON(), level: this.level.stats.toJSON(), burst: this.burst.stats.toJSON(), variance: this.variance.stats.toJSON() },
      peak: this.peak,
      peakAge: this.peakAge,
      peakChannel: this.peakChannel,
      ...(Number.isFinite(this.peakZ) && { peakZ: this.peakZ }),
      ...(!this.peakQuiet && { peakQuiet: false }),
      rarity: this.rarity.toJSON(),
      ...(this.fitted && { fitted: true }),
      calibration: { ...this.calibration },
      drift: {
        fast: this.driftFast,
        lagged: this.driftLagged.values(),
        stats: this.drift.toJSON(),
        flags: this.driftFlags.values(),
        armed: this.driftArmed,
        ...(this.driftSettle > 0 && { settle: this.driftSettle }),
      },
      ...(this.p.driftSeconds > 0 &&
        Number.isFinite(this.tdLevel) && {
          timeDrift: {
            level: this.tdLevel,
            ts: this.tdTs,
            keptTs: this.tdKeptTs,
            kept: this.tdKept.values(),
            flags: this.tdFlags.values(),
            pending: this.tdPending,
            stats: this.tdStats.toJSON(),
            armed: this.tdArmed,
            ...(this.p.driftSmooth > 0 && { weight: this.tdWeight, unsettled: this.tdUnsettled, ...(this.tdAlarmSign !== 0 && { alarm: [this.tdAlarmSign, this.tdAlarmTs] }) }),
          },
        }),
      swing: { energy: this.swingEnergy, stats: this.swing.stats.toJSON() },
      ...(this.exceed && { exceed: this.exceed.toJSON() }),
      spikeTail: this.spikeTail ? [this.spikeTail.u, this.spikeTail.p, this.spikeTail.alpha] : null,
      ...(this.spikeGaussian && { spikeGaussian: true }),
      ...(this.runReference && { runReference: [this.runReference.longest, this.runReference.runs] }),
      ...(this.adaptRef && {
        adapt: {
          ref: [this.adaptRef.center, this.adaptRef.scale],
          live: this.adaptLive ? [this.adaptLive.center, this.adaptLive.scale] : null,
          collecting: this.adaptCollecting,
          pending: this.adaptPending.map((r) => [r.ts, r.value]),
        },
      }),
    };
    return { format: 'vigil-detector', version: ARTIFACT_VERSION, kind: KIND, seed: this.seed, threshold: this.threshold, params: { ...this.p }, state, metrics: { ...this.metrics } };
  }

  /** Loads a state already checked by {@link validateRobustState}. */
  load(s: RobustState, metrics: Record<string, number>): void {
    this.n = s.n;
    this.lastTs = s.lastTs;
    this.sameTs = s.sameTs ?? 0;
    this.resumeGap = s.resumeGap === true;
    this.lastValue = s.lastValue;
    this.interval.load(s.interval);
    this.repeatRate = s.repeatRate;
    this.persistRate = s.persistRate ?? s.repeatRate;
    this.quantum = s.quantum ?? Infinity;
    this.run = s.run;
    this.window = RollingWindow.from(this.p.window, s.window);
    if (this.p.localPoint > 0) this.local = RollingWindow.from(this.p.localPoint, s.local ?? []);
    this.stepSize.load(s.stepSize);
    this.shortResidual = s.shortResidual;
    this.lastZ = s.lastZ ?? 0;
    this.lastSpike = s.lastSpike ?? 0;
    this.shortStep = s.shortStep;
    this.spike.stats.load(s.channels.spike);
    this.level.stats.load(s.channels.level);
    this.burst.stats.load(s.channels.burst);
    this.variance.stats.load(s.channels.variance);
    this.peak = s.peak;
    this.peakAge = s.peakAge;
    this.peakChannel = (s.peakChannel ?? '') as keyof Surprises | '';
    this.peakZ = s.peakZ ?? Number.POSITIVE_INFINITY;
    this.peakQuiet = s.peakQuiet !== false;
    this.rarity.load(s.rarity);
    this.fitted = s.fitted === true;
    this.calibration = { ...s.calibration };
    if (s.drift) {
      this.driftFast = s.drift.fast;
      this.driftLagged = RollingRing.from(this.p.driftLag, s.drift.lagged);
      this.drift.load(s.drift.stats);
      this.driftFlags = RollingRing.from(this.p.driftLag, s.drift.flags ?? new Array<number>(this.driftLagged.length).fill(0));
      this.driftArmed = s.drift.armed ?? true;
      this.driftSettle = s.drift.settle ?? 0;
    }
    const td = s.timeDrift;
    if (td) {
      this.tdLevel = td.level;
      this.tdTs = td.ts;
      this.tdKeptTs = td.keptTs;
      this.tdKept = RollingRing.from(TIME_DRIFT_STEPS, td.kept);
      this.tdFlags = RollingRing.from(TIME_DRIFT_STEPS, td.flags);
      this.tdPending = td.pending;
      this.tdStats.load(td.stats);
      this.tdArmed = td.armed;
      this.tdWeight = td.weight ?? 0;
      this.tdUnsettled = td.unsettled ?? false;
      this.tdAlarmSign = td.alarm?.[0] ?? 0;
      this.tdAlarmTs = td.alarm?.[1] ?? -Infinity;
    }
    if (s.swing) {
      this.swingEnergy = s.swing.energy;
      this.swing.stats.load(s.swing.stats);
    }
    if (this.p.exceedWindow > 0) this.exceed = s.exceed ? Exceedance.fromJSON(s.exceed, this.p.exceedWindow, this.p.horizon) : new Exceedance(this.p.exceedWindow, this.p.horizon);
    const t = s.spikeTail;
    this.spikeTail = t ? { u: t[0] as number, p: t[1] as number, alpha: t[2] as number } : undefined;
    this.spikeGaussian = s.spikeGaussian === true;
    this.runReference = s.runReference ? { longest: s.runReference[0] as number, runs: s.runReference[1] as number } : undefined;
    const a = s.adapt;
    if (a) {
      this.adaptRef = { center: a.ref[0] as number, scale: a.ref[1] as number };
      this.setLive(a.live ? { center: a.live[0] as number, scale: a.live[1] as number } : undefined);
      this.adaptCollecting = a.collecting;
      this.adaptPending = a.pending.map(([ts, value]) => ({ ts: ts as number, value: value as number }));
    }
    this.metrics = { ...metrics };
  }
}

/** The signal each channel names. */
const SIGNAL_OF: Readonly<Record<keyof Surprises, Signal>> = {
  spike: 'spike',
  level: 'level_shift',
  drift: 'drift',
  swing: 'variance',
  burst: 'burst',
  collapse: 'variance',
  stuck: 'stuck',
  dropout: 'dropout',
};

const SURPRISE_KEYS = Object.keys(SIGNAL_OF) as ReadonlyArray<keyof Surprises>;

/** The z at which a standard normal's upper tail has surprise `s` (−log10 p), by bisection. */
export function zForSurprise(s: number): number {
  if (!(s > 0)) return 0;
  let lo = 0;
  let hi = 40;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (normalTailSurprise(mid) < s) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** The verdict while warming up or re-baselining: never an alarm. */
function quietScore(): Score {
  return { anomaly_score: 0, is_anomaly: false, confidence: 0, method: KIND, signal: 'none' };
}

function round(w: number): number {
  return Math.round(w * 1000) / 1000;
}

/** Whether training |robust z| values look Gaussian (kurtosis below `GAUSSIAN_KURTOSIS`; too few to tell: no). */
function isGaussianLike(absZ: readonly number[], minValues = 200): boolean {
  if (absZ.length < minValues) return false;
  let m2 = 0;
  let m4 = 0;
  for (const v of absZ) {
    const v2 = v * v;
    m2 += v2;
    m4 += v2 * v2;
  }
  return m2 > 0 && (m4 * absZ.length) / (m2 * m2) < GAUSSIAN_KURTOSIS;
}

/** The surprise of a robust z (or its equivalent) in absolute terms: the guard against heavy tails (none when `scale` is 0). */
function absoluteSurprise(zeq: number, scale: number): number {
  return scale > 0 ? normalTailSurprise(zeq / scale) : Infinity;
}

/** The three largest positive channel surprises, largest first (ties keep channel order). */
function topParts(parts: Surprises): Array<{ name: string; weight: number }> {
  let k0: keyof Surprises = 'spike';
  let k1: keyof Surprises = 'spike';
  let k2: keyof Surprises = 'spike';
  let v0 = 0;
  let v1 = 0;
  let v2 = 0;
  let count = 0;
  for (const k of SURPRISE_KEYS) {
    const v = parts[k];
    if (!(v > 0)) continue;
    if (count === 0 || v > v0) {
      k2 = k1;
      v2 = v1;
      k1 = k0;
      v1 = v0;
      k0 = k;
      v0 = v;
    } else if (count === 1 || v > v1) {
      k2 = k1;
      v2 = v1;
      k1 = k;
      v1 = v;
    } else if (count === 2 || v > v2) {
      k2 = k;
      v2 = v;
    }
    if (count < 3) count++;
  }
  if (count === 0) return [];
  if (count === 1) return [{ name: k0, weight: round(v0) }];
  if (count === 2) return [{ name: k0, weight: round(v0) }, { name: k1, weight: round(v1) }];
  return [{ name: k0, weight: round(v0) }, { name: k1, weight: round(v1) }, { name: k2, weight: round(v2) }];
}


const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const isTriple = (x: unknown): boolean => Array.isArray(x) && x.length === 3 && x.every(isNum) && (x[1] as number) >= 0 && (x[2] as number) >= 0;

/** Kind-specific shape check used by `validateArtifact`; throws on the first problem. */
export function validateRobustState(state: unknown, params: Record<string, unknown> = {}): asserts state is RobustState {
  const fail = (what: string): never => {
    throw new DetectorError('invalid-artifact', `Invalid robust detector state: ${what}.`);
  };
  if (typeof state !== 'object' || state === null || Array.isArray(state)) fail('state must be an object');
  const s = state as Record<string, unknown>;
  for (const k of ['n', 'lastTs', 'lastValue', 'repeatRate', 'run', 'shortResidual', 'shortStep', 'peak', 'peakAge'] as const) {
    if (!isNum(s[k])) fail(`"${k}" must be a finite number`);
  }
  if (s.lastZ !== undefined && !isNum(s.lastZ)) fail('"lastZ" must be a finite number');
  if (s.sameTs !== undefined && !(Number.isInteger(s.sameTs) && (s.sameTs as number) > 0 && params.clockTicks === true)) fail('"sameTs" must be a positive integer, and only with clockTicks');
  if (s.lastSpike !== undefined && !(isNum(s.lastSpike) && s.lastSpike >= 0)) fail('"lastSpike" must be a non-negative number');
  if (s.peakZ !== undefined && !(isNum(s.peakZ) && s.peakZ >= 0)) fail('"peakZ" must be a non-negative number');
  const localSize = typeof params.localPoint === 'number' ? params.localPoint : 0;
  if (s.local !== undefined && !(Array.isArray(s.local) && s.local.length <= localSize && s.local.every(isNum))) fail(`"local" must hold at most ${localSize} finite numbers`);
  if (s.resumeGap !== undefined && typeof s.resumeGap !== 'boolean') fail('"resumeGap" must be a boolean');
  if (s.peakQuiet !== undefined && typeof s.peakQuiet !== 'boolean') fail('"peakQuiet" must be a boolean');
  if (s.fitted !== undefined && typeof s.fitted !== 'boolean') fail('"fitted" must be a boolean');
  if ((s.n as number) < 0 || (s.run as number) < 1 || (s.peakAge as number) < 0) fail('counters out of range');
  if (s.peakChannel !== undefined && s.peakChannel !== '' && !(SURPRISE_KEYS as readonly unknown[]).includes(s.peakChannel)) fail('"peakChannel" must name a channel');
  if ((s.repeatRate as number) < 0 || (s.repeatRate as number) > 1) fail('"repeatRate" must be in [0, 1]');
  if (s.persistRate !== undefined && !(isNum(s.persistRate) && s.persistRate >= 0 && s.persistRate <= 1)) fail('"persistRate" must be in [0, 1]');
  if (s.quantum !== undefined && !(isNum(s.quantum) && s.quantum > 0)) fail('"quantum" must be a positive number');
  if (!isTriple(s.interval) || !isTriple(s.stepSize)) fail('"interval" and "stepSize" must be [mean, variance, count]');
  const windowSize = typeof params.window === 'number' ? params.window : 4096;
  if (!Array.isArray(s.window) || s.window.length > windowSize || !s.window.every(isNum)) fail(`"window" must hold at most ${windowSize} finite numbers`);
  const ch = s.channels as Record<string, unknown> | undefined;
  if (typeof ch !== 'object' || ch === null) fail('"channels" must be an object');
  for (const k of ['spike', 'level', 'burst', 'variance']) if (!isTriple(ch?.[k])) fail(`"channels.${k}" must be [mean, variance, count]`);
  const rarity: unknown[] = Array.isArray(s.rarity) ? (s.rarity as unknown[]) : [];
  if (rarity.length !== 3 + RARITY_BINS || !rarity.every((v, i) => isNum(v) && (i === 2 || v >= 0)) || (rarity[1] as number) <= 0) {
    fail(`"rarity" must hold ${3 + RARITY_BINS} finite numbers, counts non-negative`);
  }
  const maxBin = rarity[2] as number;
  if (!Number.isInteger(maxBin) || maxBin < -1 || maxBin >= RARITY_BINS) fail('"rarity" max bin is out of range');
  if (!isCalibration(s.calibration)) fail('"calibration" is not a valid calibration');
  if (s.drift !== undefined) {
    const d = s.drift as Record<string, unknown> | null;
    const lag = typeof params.driftLag === 'number' ? params.driftLag : 100_000;
    if (typeof d !== 'object' || d === null || !isNum(d.fast) || !isTriple(d.stats)) fail('"drift" must hold "fast" and "stats"');
    if (!Array.isArray(d?.lagged) || d.lagged.length > lag || !d.lagged.every(isNum)) fail(`"drift.lagged" must hold at most ${lag} finite numbers`);
    const flags = d?.flags;
    if (flags !== undefined && (!Array.isArray(flags) || flags.length !== (d?.lagged as unknown[]).length || !flags.every((f) => f === 0 || f === 1))) {
      fail('"drift.flags" must hold one 0 or 1 per lagged value');
    }
    if (d?.armed !== undefined && typeof d.armed !== 'boolean') fail('"drift.armed" must be a boolean');
    if (d?.settle !== undefined && (!Number.isInteger(d.settle) || (d.settle as number) < 0 || (d.settle as number) > DRIFT_SETTLE)) {
      fail(`"drift.settle" must be an integer in [0, ${DRIFT_SETTLE}]`);
    }
  }
  if (s.timeDrift !== undefined) {
    const t = s.timeDrift as Record<string, unknown> | null;
    const ok =
      typeof t === 'object' &&
      t !== null &&
      isNum(t.level) &&
      isNum(t.ts) &&
      isNum(t.keptTs) &&
      isTriple(t.stats) &&
      (t.pending === 0 || t.pending === 1) &&
      typeof t.armed === 'boolean' &&
      Array.isArray(t.kept) &&
      t.kept.length <= TIME_DRIFT_STEPS &&
      t.kept.every(isNum) &&
      Array.isArray(t.flags) &&
      t.flags.length === t.kept.length &&
      t.flags.every((f) => f === 0 || f === 1);
    if (!ok) fail(`"timeDrift" must hold level, ts, keptTs, pending, armed, stats and at most ${TIME_DRIFT_STEPS} kept levels with one 0/1 flag each`);
    if (t?.weight !== undefined && !(isNum(t.weight) && (t.weight as number) >= 1)) fail('"timeDrift.weight" must be a number ≥ 1');
    if (t?.unsettled !== undefined && typeof t.unsettled !== 'boolean') fail('"timeDrift.unsettled" must be a boolean');
    const al = t?.alarm;
    if (al !== undefined && !(Array.isArray(al) && al.length === 2 && (al[0] === 1 || al[0] === -1) && isNum(al[1]))) fail('"timeDrift.alarm" must be [sign ±1, ts]');
  }
  if (s.swing !== undefined) {
    const w = s.swing as Record<string, unknown> | null;
    if (typeof w !== 'object' || w === null || !isNum(w.energy) || (w.energy as number) < 0 || !isTriple(w.stats)) fail('"swing" must hold a non-negative "energy" and "stats"');
  }
  if (s.exceed !== undefined) {
    const window = typeof params.exceedWindow === 'number' ? params.exceedWindow : 0;
    if (!(window > 0)) fail('"exceed" is kept only with exceedWindow');
    try {
      Exceedance.fromJSON(s.exceed, window, 1);
    } catch (e) {
      fail(`"exceed": ${(e as Error).message}`);
    }
  }
  if (s.spikeTail !== undefined && s.spikeTail !== null) {
    const t = s.spikeTail;
    if (!Array.isArray(t) || t.length !== 3 || !t.every(isNum) || !((t[0] as number) > 0) || !((t[1] as number) > 0) || (t[1] as number) > 1 || !((t[2] as number) > 0)) {
      fail('"spikeTail" must be null or [u > 0, p in (0, 1], alpha > 0]');
    }
  }
  if (s.spikeGaussian !== undefined && typeof s.spikeGaussian !== 'boolean') fail('"spikeGaussian" must be a boolean');
  if (s.runReference !== undefined) {
    const r = s.runReference;
    if (!Array.isArray(r) || r.length !== 2 || !r.every((v) => isNum(v) && Number.isInteger(v)) || (r[0] as number) < 2 || (r[1] as number) < 1) {
      fail('"runReference" must be [longest run ≥ 2, runs ≥ 1], whole numbers');
    }
  }
  if (s.adapt !== undefined) {
    if (params.adaptLevel !== true) fail('"adapt" is only valid with the adaptLevel parameter on');
    const a = s.adapt as Record<string, unknown> | null;
    const isFrame = (f: unknown): boolean => Array.isArray(f) && f.length === 2 && f.every(isNum) && (f[1] as number) >= 0;
    if (typeof a !== 'object' || a === null || Array.isArray(a)) fail('"adapt" must be an object');
    if (!isFrame(a?.ref)) fail('"adapt.ref" must be [centre, scale >= 0]');
    if (a?.live !== null && !isFrame(a?.live)) fail('"adapt.live" must be null or [centre, scale >= 0]');
    if (typeof a?.collecting !== 'boolean') fail('"adapt.collecting" must be a boolean');
    const limit = typeof params.adaptWindow === 'number' ? params.adaptWindow : 100_000;
    const pending = a?.pending;
    if (!Array.isArray(pending) || pending.length >= limit || !pending.every((r) => Array.isArray(r) && r.length === 2 && r.every(isNum))) {
      fail(`"adapt.pending" must hold fewer than ${limit} [ts, value] pairs of finite numbers`);
    }
    if (a?.collecting === true && a.live !== null) fail('"adapt.live" must be null while collecting');
    if (a?.collecting === false && (pending as unknown[]).length > 0) fail('"adapt.pending" must be empty unless collecting');
  }
}

export const robustFactory: DetectorFactory = {
  descriptor,
  create(options: CreateDetectorOptions): Detector {
    return new RobustDetector(readRobustParams(options.params), options.seed ?? 0, options.threshold ?? 0.5);
  },
  restore(artifact: DetectorArtifact): Detector {
    const params = readRobustParams(artifact.params);
    validateRobustState(artifact.state, params);
    const d = new RobustDetector(params, artifact.seed, artifact.threshold);
    d.load(artifact.state, artifact.metrics ?? {});
    return d;
  },
  validateState(state: unknown, artifact: DetectorArtifact): void {
    validateRobustState(state, readRobustParams(artifact.params));
  },
};
