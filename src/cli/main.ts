import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/index.ts';
import { VERSION } from '../version.ts';
import { registerBackupCommands } from './backup.commands.ts';
import { registerDetectorCommands } from './detector.commands.ts';
import { registerModelsCommands } from './models.commands.ts';
import { registerServerCommands } from './server.commands.ts';

const program = new Command('vigil')
  .description('Vigil: real-time anomaly detection for sensor streams')
  .version(VERSION)
  .showHelpAfterError()
  .exitOverride();

registerServerCommands(program);
registerModelsCommands(program);
registerDetectorCommands(program);
registerBackupCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? 0 : 2;
  } else if (err instanceof ConfigError) {
    console.error(err.message);
    process.exitCode = 2;
  } else {
    console.error(`vigil: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}
