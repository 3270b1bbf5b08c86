import { UsageError, type Workspace } from '@dag/core';
import type { CompiledSql } from '@dag/sql';
import type { Command } from 'commander';
import pc from 'picocolors';

export interface SqlCommandContext {
  loadWorkspace: () => Promise<Workspace>;
  location: () => string | undefined;
  out: (text: string) => void;
}

/** `dag sql compile <selection>`: the SQL of SQL models, rendered and resolved, not run. */
export function registerSqlCommands(program: Command, ctx: SqlCommandContext): void {
  const sql = program.command('sql').description('SQL models (a dbt-layout project loaded with @dag/sql)');
  sql
    .command('compile <selection>')
    .description("print the compiled SQL of the selected models without running it, e.g. 'dim/dim_customer+'")
    .option('--incremental', 'render incremental models as an incremental run would (is_incremental() true)')
    .option('--json', 'print a JSON array of { key, file, relation, materialized, sql }')
    .action(async (selection: string, opts: { json?: boolean; incremental?: boolean }) => {
      // Loaded when used: the SQL engines (DuckDB, nunjucks) are heavy for every other command.
      const { sqlProjectOf } = await import('@dag/sql');
      const workspace = await ctx.loadWorkspace();
      const location = workspace.locationForSelection(selection, ctx.location());
      const keys = location.definitions.select(selection);
      const compiled: CompiledSql[] = [];
      const byProject = new Map<NonNullable<ReturnType<typeof sqlProjectOf>>, string[]>();
      for (const key of keys) {
        const project = sqlProjectOf(location.definitions.graph.get(key));
        if (project) byProject.set(project, [...(byProject.get(project) ?? []), key]);
      }
      if (byProject.size === 0) {
        throw new UsageError(
          `Selection '${selection}' matches no SQL models in code location '${location.name}' (matched: ${keys.join(', ') || 'nothing'}).`,
        );
      }
      for (const [project, projectKeys] of byProject) {
        compiled.push(...(await project.compile(projectKeys, { incremental: opts.incremental === true })));
      }
      if (opts.json) return ctx.out(JSON.stringify(compiled, null, 2));
      for (const c of compiled) {
        ctx.out(pc.bold(`-- ${c.key} (${c.materialized} ${c.relation}, ${c.file})`));
        ctx.out(`${c.sql}\n`);
      }
    });
}
