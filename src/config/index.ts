export { loadConfig, ConfigError, CONFIG_KEYS, type Config, type DatabaseConfig, type LoadConfigOptions } from './config.ts';
