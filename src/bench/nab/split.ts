/**
 * NAB's development / held-out split: the corpus's 58 file paths (`category/name.csv`) in sorted
 * order, alternately `dev` (1st, 3rd, ...) and `heldout` (2nd, 4th, ...). Each category is split
 * in half (one file more on one side when it has an odd count); 29 files (61 windows) are `dev`,
 * 29 files (55 windows) are `heldout`. Tune detectors on `dev` only.
 * @module
 */

export const NAB_SPLIT_NAMES = ['dev', 'heldout'] as const;
export type NabSplit = (typeof NAB_SPLIT_NAMES)[number];

/** The split of every file of NAB v1.1, written out so it can be read and cited. */
export const NAB_SPLIT: Readonly<Record<string, NabSplit>> = {
  // artificialNoAnomaly
  'artificialNoAnomaly/art_daily_no_noise.csv': 'dev',
  'artificialNoAnomaly/art_daily_perfect_square_wave.csv': 'heldout',
  'artificialNoAnomaly/art_daily_small_noise.csv': 'dev',
  'artificialNoAnomaly/art_flatline.csv': 'heldout',
  'artificialNoAnomaly/art_noisy.csv': 'dev',
  // artificialWithAnomaly
  'artificialWithAnomaly/art_daily_flatmiddle.csv': 'heldout',
  'artificialWithAnomaly/art_daily_jumpsdown.csv': 'dev',
  'artificialWithAnomaly/art_daily_jumpsup.csv': 'heldout',
  'artificialWithAnomaly/art_daily_nojump.csv': 'dev',
  'artificialWithAnomaly/art_increase_spike_density.csv': 'heldout',
  'artificialWithAnomaly/art_load_balancer_spikes.csv': 'dev',
  // realAWSCloudwatch
  'realAWSCloudwatch/ec2_cpu_utilization_24ae8d.csv': 'heldout',
  'realAWSCloudwatch/ec2_cpu_utilization_53ea38.csv': 'dev',
  'realAWSCloudwatch/ec2_cpu_utilization_5f5533.csv': 'heldout',
  'realAWSCloudwatch/ec2_cpu_utilization_77c1ca.csv': 'dev',
  'realAWSCloudwatch/ec2_cpu_utilization_825cc2.csv': 'heldout',
  'realAWSCloudwatch/ec2_cpu_utilization_ac20cd.csv': 'dev',
  'realAWSCloudwatch/ec2_cpu_utilization_c6585a.csv': 'heldout',
  'realAWSCloudwatch/ec2_cpu_utilization_fe7f93.csv': 'dev',
  'realAWSCloudwatch/ec2_disk_write_bytes_1ef3de.csv': 'heldout',
  'realAWSCloudwatch/ec2_disk_write_bytes_c0d644.csv': 'dev',
  'realAWSCloudwatch/ec2_network_in_257a54.csv': 'heldout',
  'realAWSCloudwatch/ec2_network_in_5abac7.csv': 'dev',
  'realAWSCloudwatch/elb_request_count_8c0756.csv': 'heldout',
  'realAWSCloudwatch/grok_asg_anomaly.csv': 'dev',
  'realAWSCloudwatch/iio_us-east-1_i-a2eb1cd9_NetworkIn.csv': 'heldout',
  'realAWSCloudwatch/rds_cpu_utilization_cc0c53.csv': 'dev',
  'realAWSCloudwatch/rds_cpu_utilization_e47b3b.csv': 'heldout',
  // realAdExchange
  'realAdExchange/exchange-2_cpc_results.csv': 'dev',
  'realAdExchange/exchange-2_cpm_results.csv': 'heldout',
  'realAdExchange/exchange-3_cpc_results.csv': 'dev',
  'realAdExchange/exchange-3_cpm_results.csv': 'heldout',
  'realAdExchange/exchange-4_cpc_results.csv': 'dev',
  'realAdExchange/exchange-4_cpm_results.csv': 'heldout',
  // realKnownCause
  'realKnownCause/ambient_temperature_system_failure.csv': 'dev',
  'realKnownCause/cpu_utilization_asg_misconfiguration.csv': 'heldout',
  'realKnownCause/ec2_request_latency_system_failure.csv': 'dev',
  'realKnownCause/machine_temperature_system_failure.csv': 'heldout',
  'realKnownCause/nyc_taxi.csv': 'dev',
  'realKnownCause/rogue_agent_key_hold.csv': 'heldout',
  'realKnownCause/rogue_agent_key_updown.csv': 'dev',
  // realTraffic
  'realTraffic/TravelTime_387.csv': 'heldout',
  'realTraffic/TravelTime_451.csv': 'dev',
  'realTraffic/occupancy_6005.csv': 'heldout',
  'realTraffic/occupancy_t4013.csv': 'dev',
  'realTraffic/speed_6005.csv': 'heldout',
  'realTraffic/speed_7578.csv': 'dev',
  'realTraffic/speed_t4013.csv': 'heldout',
  // realTweets
  'realTweets/Twitter_volume_AAPL.csv': 'dev',
  'realTweets/Twitter_volume_AMZN.csv': 'heldout',
  'realTweets/Twitter_volume_CRM.csv': 'dev',
  'realTweets/Twitter_volume_CVS.csv': 'heldout',
  'realTweets/Twitter_volume_FB.csv': 'dev',
  'realTweets/Twitter_volume_GOOG.csv': 'heldout',
  'realTweets/Twitter_volume_IBM.csv': 'dev',
  'realTweets/Twitter_volume_KO.csv': 'heldout',
  'realTweets/Twitter_volume_PFE.csv': 'dev',
  'realTweets/Twitter_volume_UPS.csv': 'heldout',
};

/**
 * The split rule applied to any list of `category/name.csv` paths: sorted, then alternately
 * `dev` and `heldout`. For NAB's own files it reproduces {@link NAB_SPLIT}.
 */
export function splitNabFiles(files: readonly string[]): Record<string, NabSplit> {
  const sorted = [...files].sort();
  return Object.fromEntries(sorted.map((f, i) => [f, i % 2 === 0 ? 'dev' : 'heldout'] as const));
}
