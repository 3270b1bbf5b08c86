import { DefinitionError, SelectionError, UsageError } from '../errors.ts';
import { AssetGraph } from '../graph/asset-graph.ts';
import type { IOManager } from '../io/io-manager.ts';
import { samePartitions } from '../partitions/partitions.ts';
import { resolveSelection, type SelectionContext } from '../selection/asset-selection.ts';
import { didYouMean } from '../util/suggest.ts';
import type { AssetCheckDefinition, AssetDefinition } from './asset.ts';
import type { ScheduleDefinition, SensorDefinition } from './automation.ts';
import type { JobDefinition } from './job.ts';
import type { MultiAssetDefinition } from './multi-asset.ts';
import type { ResourceDefinition } from './resource.ts';
import { assertKnownOptions } from './validation.ts';

export interface DefinitionsOptions {
  /** Assets, and multi-assets (each of their outputs is an asset). */
  assets?: (AssetDefinition | MultiAssetDefinition)[];
  assetChecks?: AssetCheckDefinition[];
  jobs?: JobDefinition[];
  schedules?: ScheduleDefinition[];
  sensors?: SensorDefinition[];
  /** Extra resources to show in the catalog; those used by assets are collected automatically. */
  resources?: ResourceDefinition[];
  /** Stores values passed between assets. Default: JSON files under the instance folder. */
  ioManager?: IOManager;
}

const DEFINITIONS_OPTIONS = {
  assets: true,
  assetChecks: true,
  jobs: true,
  schedules: true,
  sensors: true,
  resources: true,
  ioManager: true,
} as const satisfies Record<keyof DefinitionsOptions, true>;

/**
 * Everything a code location defines. Construction validates the whole set and throws a
 * DefinitionError naming the first problem (duplicate key, unknown dep, cycle, bad job).
 *
 * @example
 * export default new Definitions({ assets: [raw, clean], jobs: [defineAssetJob({ name: 'all', selection: '*' })] });
 */
export class Definitions {
  readonly graph: AssetGraph;
  readonly assets: readonly AssetDefinition[];
  readonly assetChecks: readonly AssetCheckDefinition[];
  readonly jobs: ReadonlyMap<string, JobDefinition>;
  readonly schedules: ReadonlyMap<string, ScheduleDefinition>;
  readonly sensors: ReadonlyMap<string, SensorDefinition>;
  readonly resources: ReadonlyMap<string, ResourceDefinition>;
  readonly ioManager: IOManager | undefined;
  private readonly checksByAsset = new Map<string, AssetCheckDefinition[]>();

  constructor(options: DefinitionsOptions = {}) {
    assertKnownOptions(options, DEFINITIONS_OPTIONS, 'Definitions');
    const given = options.assets ?? [];
    const assets = given.flatMap((a) => (a?.kind === 'multi_asset' ? a.assets : [a as AssetDefinition]));
    for (const [i, a] of assets.entries()) {
      if (a?.kind !== 'asset') {
        throw new DefinitionError(
          `Definitions: assets[${i}] is not an asset definition (did you pass the function instead of asset(...)?).`,
        );
      }
    }
    this.assets = assets;
    this.graph = new AssetGraph(assets);

    const checks = [...assets.flatMap((a) => a.checks), ...(options.assetChecks ?? [])];
    const seenChecks = new Set<string>();
    const uniqueChecks: AssetCheckDefinition[] = [];
    for (const check of checks) {
      if (check?.kind !== 'asset_check') {
        throw new DefinitionError('Definitions: assetChecks must contain only assetCheck(...) definitions.');
      }
      if (!this.graph.has(check.assetKey)) {
        throw new DefinitionError(
          `Asset check '${check.name}' targets unknown asset '${check.assetKey}'.${didYouMean(check.assetKey, this.graph.assets.keys())}`,
        );
      }
      const id = `${check.assetKey}:${check.name}`;
      if (seenChecks.has(id)) {
        if (uniqueChecks.includes(check)) continue;
        throw new DefinitionError(`Duplicate asset check '${check.name}' on asset '${check.assetKey}'.`);
      }
      seenChecks.add(id);
      uniqueChecks.push(check);
      const list = this.checksByAsset.get(check.assetKey) ?? [];
      list.push(check);
      this.checksByAsset.set(check.assetKey, list);
    }
    this.assetChecks = uniqueChecks;

    this.resources = collectResources([
      ...(options.resources ?? []),
      ...assets.flatMap((a) => Object.values(a.resources)),
      ...uniqueChecks.flatMap((c) => Object.values(c.resources)),
      ...(options.jobs ?? []).flatMap((j) =>
        j.type === 'graph' ? j.nodes.flatMap((n) => Object.values(n.op.resources)) : [],
      ),
    ]);

    const jobs = new Map<string, JobDefinition>();
    for (const job of options.jobs ?? []) {
      if (jobs.has(job.name)) throw new DefinitionError(`Duplicate job name '${job.name}'.`);
      if (job.type === 'assets') {
        try {
          const keys = resolveSelection(this.graph, job.selection);
          if (keys.length === 0) {
            throw new DefinitionError(`Job '${job.name}': selection '${job.selection}' matches no assets.`);
          }
          const jobPartitions = job.partitions;
          const other = jobPartitions
            ? keys.find((k) => {
                const p = this.graph.get(k).partitions;
                return p && !samePartitions(p, jobPartitions);
              })
            : undefined;
          if (other) {
            throw new DefinitionError(
              `Job '${job.name}' has partitions ${jobPartitions!.description}, but its asset '${other}' has ${this.graph.get(other).partitions!.description}; a job's partitioned assets share its partitions.`,
            );
          }
        } catch (error) {
          if (error instanceof SelectionError) {
            throw new DefinitionError(`Job '${job.name}' has an invalid selection: ${error.message}`, {
              cause: error,
            });
          }
          throw error;
        }
      }
      jobs.set(job.name, job);
    }
    this.jobs = jobs;

    this.schedules = uniqueByName(options.schedules ?? [], 'schedule');
    this.sensors = uniqueByName(options.sensors ?? [], 'sensor');
    for (const instigator of [...this.schedules.values(), ...this.sensors.values()]) {
      if (instigator.kind === 'sensor' && instigator.monitoredJobs) {
        for (const name of instigator.monitoredJobs) {
          if (!jobs.has(name)) {
            throw new DefinitionError(
              `Sensor '${instigator.name}' monitors unknown job '${name}'.${didYouMean(name, jobs.keys())}`,
            );
          }
        }
      }
      if (instigator.kind === 'sensor' && instigator.assetKey && !this.graph.has(instigator.assetKey)) {
        throw new DefinitionError(
          `Sensor '${instigator.name}' watches unknown asset '${instigator.assetKey}'.`,
        );
      }
      if (instigator.jobName === null) continue;
      if (!jobs.has(instigator.jobName)) {
        throw new DefinitionError(
          `${instigator.kind === 'schedule' ? 'Schedule' : 'Sensor'} '${instigator.name}' targets unknown job '${instigator.jobName}'.${didYouMean(instigator.jobName, jobs.keys())}`,
        );
      }
    }
    this.ioManager = options.ioManager;
  }

  checksFor(assetKey: string): readonly AssetCheckDefinition[] {
    return this.checksByAsset.get(assetKey) ?? [];
  }

  getJob(name: string): JobDefinition {
    const job = this.jobs.get(name);
    if (!job) {
      const known = [...this.jobs.keys()];
      throw new UsageError(
        `Unknown job '${name}'.${didYouMean(name, known)} Jobs: ${known.length ? known.join(', ') : '(none defined)'}.`,
      );
    }
    return job;
  }

  /** Asset keys matching a selection, upstream first. */
  select(selection: string, context?: SelectionContext): string[] {
    return resolveSelection(this.graph, selection, context);
  }
}

function collectResources(list: ResourceDefinition[]): Map<string, ResourceDefinition> {
  const out = new Map<string, ResourceDefinition>();
  for (const r of list) {
    const existing = out.get(r.name);
    if (existing && existing !== r) {
      throw new DefinitionError(
        `Two different resources are named '${r.name}'. Define each resource once and share the definition.`,
      );
    }
    out.set(r.name, r);
  }
  return out;
}

function uniqueByName<T extends { name: string; kind: string }>(list: T[], what: string): Map<string, T> {
  const out = new Map<string, T>();
  for (const item of list) {
    if (!item || item.kind !== what)
      throw new DefinitionError(`Definitions: expected only ${what} definitions.`);
    if (out.has(item.name)) throw new DefinitionError(`Duplicate ${what} name '${item.name}'.`);
    out.set(item.name, item);
  }
  return out;
}
