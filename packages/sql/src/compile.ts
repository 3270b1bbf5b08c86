import { ModelRenderError, type RenderState } from './jinja.ts';
import type { ModelNode, SqlProjectFiles, TestNode } from './project.ts';
import type { Warehouse } from './warehouse.ts';

/** Naming only: compiling never runs SQL, so it needs the engine's quoting and nothing else. */
export type RelationNamer = Pick<Warehouse, 'relation' | 'quoteIdentifier' | 'kind'>;

const CTE_PREFIX = '__dbt__cte__';

/** Ephemeral models become CTEs in front of the SQL, as dbt injects them. */
function injectCtes(sql: string, ctes: string[]): string {
  if (ctes.length === 0) return sql;
  const leading = /^(\s*(?:--[^\n]*\n|\/\*[\s\S]*?\*\/))*\s*with\s+(?!recursive\b)/i.exec(sql);
  if (leading)
    return `${sql.slice(0, leading[0].length)}${ctes.join(',\n')},\n${sql.slice(leading[0].length)}`;
  return `with ${ctes.join(',\n')}\n${sql}`;
}

function renderState(
  files: SqlProjectFiles,
  namer: RelationNamer,
  model: Pick<ModelNode, 'name' | 'schema' | 'identifier'>,
  isIncremental: boolean,
  ephemerals: string[],
): RenderState {
  return {
    model: model.name,
    refs: [],
    sources: [],
    config: {},
    isIncremental,
    thisRelation: {
      schema: model.schema,
      identifier: model.identifier,
      rendered: namer.relation(model.schema, model.identifier),
    },
    resolveRef(name) {
      const m = files.models.get(name);
      if (!m) throw new ModelRenderError(`ref('${name}'): no model named '${name}'.`);
      if (m.config.materialized === 'ephemeral') {
        ephemerals.push(name);
        return `${CTE_PREFIX}${name}`;
      }
      return namer.relation(m.schema, m.identifier);
    },
    resolveSource(source, table) {
      const s = files.sources.get(`${source}.${table}`);
      if (!s) throw new ModelRenderError(`source('${source}', '${table}') is not declared.`);
      return namer.relation(s.schema, s.identifier);
    },
  };
}

function finish(
  files: SqlProjectFiles,
  namer: RelationNamer,
  rendered: string,
  ephemerals: string[],
): string {
  const sql = rendered.trim().replace(/;\s*$/, '');
  const ctes = [...new Set(ephemerals)].map(
    (name) => `${CTE_PREFIX}${name} as (\n${compileModel(files, namer, name, false)}\n)`,
  );
  return injectCtes(sql, ctes);
}

/** The SQL of a model as it runs: Jinja rendered, refs resolved, ephemeral models inlined. */
export function compileModel(
  files: SqlProjectFiles,
  namer: RelationNamer,
  name: string,
  isIncremental: boolean,
): string {
  const model = files.models.get(name);
  if (!model) throw new ModelRenderError(`No model named '${name}'.`);
  const ephemerals: string[] = [];
  let rendered: string;
  try {
    rendered = files.jinja.render(
      model.template,
      renderState(files, namer, model, isIncremental, ephemerals),
    );
  } catch (error) {
    throw new ModelRenderError(
      `${model.file}: cannot render model '${model.key}': ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  return finish(files, namer, rendered, ephemerals);
}

/** The failing-rows query of a test (dbt's generic test definitions). */
export function compileTest(files: SqlProjectFiles, namer: RelationNamer, test: TestNode): string {
  const model = files.models.get(test.model)!;
  const rel = namer.relation(model.schema, model.identifier);
  const col = test.column === undefined ? '' : namer.quoteIdentifier(test.column);
  const literal = (v: unknown) =>
    typeof v === 'number' || typeof v === 'boolean' ? String(v) : `'${String(v).replaceAll("'", "''")}'`;
  switch (test.kind) {
    case 'not_null':
      return `select * from ${rel} where ${col} is null`;
    case 'unique':
      return `select ${col} as unique_field, count(*) as n_records from ${rel} where ${col} is not null group by ${col} having count(*) > 1`;
    case 'accepted_values': {
      const values = (test.args.values as unknown[]).map((v) =>
        test.args.quote === false ? String(v) : literal(v),
      );
      return `select ${col} as value_field, count(*) as n_records from ${rel} group by ${col} having ${col} not in (${values.join(', ')})`;
    }
    case 'relationships': {
      const parent = files.models.get(String(test.args.toModel));
      if (!parent) {
        throw new ModelRenderError(
          `${test.file}:${test.line}: test '${test.name}' refers to model '${test.args.toModel}', which is not a model of this project.`,
        );
      }
      const field = namer.quoteIdentifier(String(test.args.field));
      return `select child.${col} as from_field from ${rel} as child left join ${namer.relation(parent.schema, parent.identifier)} as parent on child.${col} = parent.${field} where child.${col} is not null and parent.${field} is null`;
    }
    case 'singular': {
      const ephemerals: string[] = [];
      const rendered = files.jinja.render(
        test.template!,
        renderState(
          files,
          namer,
          { name: test.name, schema: model.schema, identifier: model.identifier },
          false,
          ephemerals,
        ),
      );
      return finish(files, namer, rendered, ephemerals);
    }
  }
}
