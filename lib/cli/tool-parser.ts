import type { Argv } from 'yargs'
import { loadFlagConfig } from '../util/config.js'
import { configKeys, defineOptions, flatConfigTemplate, optionReader, printConfigFlag, usageText, type ToolSpec } from './option-table.js'
import { baseParser } from './run.js'

/** A tool's parser from its table: the shared habits, its options and groups, usage, --print-config. */
export function toolParser(tool: ToolSpec, args: string[], template: () => string = () => flatConfigTemplate(tool)): Argv {
  return printConfigFlag(defineOptions(baseParser(tool.name, args), tool), template).usage(usageText(tool))
}

/** For tools whose config keys are their long options: the file (-c) and the values through it. */
export function readFlatConfig(tool: ToolSpec, argv: Record<string, unknown>): { cfg: Record<string, unknown> } & ReturnType<typeof optionReader> {
  const cfg = typeof argv.config === 'string' ? loadFlagConfig(argv.config, configKeys(tool)) : {}
  return { cfg, ...optionReader(tool, argv, cfg) }
}
