import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * A generated dbt-layout project of `count` models in three folders. Each model refs one or two
 * earlier ones (a wide, deep DAG), uses config(), a macro, var() and is_incremental() like real
 * models do; the first 10 read a source.
 */
export async function generateProject(
  dir: string,
  count: number,
  options: { small?: boolean } = {},
): Promise<void> {
  const folders = ['dim', 'fct', 'mart'];
  await mkdir(path.join(dir, 'macros'), { recursive: true });
  for (const f of folders) await mkdir(path.join(dir, 'models', f), { recursive: true });
  await writeFile(
    path.join(dir, 'dbt_project.yml'),
    'name: bench\nvars:\n  lookback_hours: 12\nmodels:\n  bench:\n    +materialized: table\n',
  );
  await writeFile(
    path.join(dir, 'macros', 'cents.sql'),
    '{% macro cents(column) %}cast({{ column }} * 100 as {{ dbt.type_bigint() }}){% endmacro %}\n',
  );
  await writeFile(
    path.join(dir, 'models', 'sources.yml'),
    'version: 2\nsources:\n  - name: raw\n    tables:\n      - name: events\n',
  );
  const yml: string[] = ['version: 2', 'models:'];
  for (let i = 0; i < count; i++) {
    const name = `m${String(i).padStart(4, '0')}`;
    const folder = folders[i % 3]!;
    let body: string;
    if (options.small) {
      body = `select range as id, range * ${i} as amount, {{ cents('range') }} as cents from range(100)`;
    } else if (i < 10) {
      body = `{{ config(materialized='incremental', unique_key='id') }}\nselect id, amount, {{ cents('amount') }} as cents, updated_at\nfrom {{ source('raw', 'events') }}\n{% if is_incremental() %}\nwhere updated_at >= (select {{ dbt.dateadd('hour', -var('lookback_hours'), 'max(updated_at)') }} from {{ this }})\n{% endif %}`;
    } else {
      const a = `m${String(Math.floor(i / 2)).padStart(4, '0')}`;
      const b = `m${String(i - 1 - (i % 7)).padStart(4, '0')}`;
      body = `select a.id, a.amount + coalesce(b.amount, 0) as amount, {{ cents('a.amount') }} as cents\nfrom {{ ref('${a}') }} as a\nleft join {{ ref('${b}') }} as b on a.id = b.id\n{% for c in ['x', 'y'] %}-- {{ c }}\n{% endfor %}`;
    }
    await writeFile(path.join(dir, 'models', folder, `${name}.sql`), `${body}\n`);
    if (!options.small)
      yml.push(
        `  - name: ${name}`,
        `    description: Generated model ${i}.`,
        '    columns:',
        '      - name: id',
        '        data_tests: [not_null]',
      );
  }
  await writeFile(path.join(dir, 'models', 'schema.yml'), `${yml.join('\n')}\n`);
}
