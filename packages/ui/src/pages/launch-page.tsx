import { type ReactNode, useEffect, useMemo, useRef, useState } from 'react';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { ApiError, apiPost } from '../api/client.ts';
import type { DefinitionsResponse, JobDefinitionJson } from '../api/types.ts';
import { useApi } from '../api/use-api.ts';
import { ErrorBox, Loading } from '../components/common.tsx';
import {
  type ConfigField,
  configFormFromSchema,
  fieldErrorsFromMessage,
  fieldInputText,
  fieldValue,
  mergeConfig,
  parseFieldInput,
  type RunConfigObject,
  scaffoldRunConfig,
  setPath,
  validateRunConfig,
} from '../lib/config-form.ts';
import { href, navigate } from '../router.ts';

type Format = 'yaml' | 'json';

function serialize(config: RunConfigObject, format: Format): string {
  if (Object.keys(config).length === 0) return format === 'json' ? '{}' : '';
  return format === 'json' ? JSON.stringify(config, null, 2) : stringifyYaml(config);
}

/** Parses the raw editor (YAML is a superset of JSON): an object, or an error message. */
function parseRaw(text: string): { ok: true; value: RunConfigObject } | { ok: false; error: string } {
  if (!text.trim()) return { ok: true, value: {} };
  try {
    const value: unknown = parseYaml(text);
    if (value === null || value === undefined) return { ok: true, value: {} };
    if (typeof value !== 'object' || Array.isArray(value))
      return {
        ok: false,
        error: 'The run config must be a mapping like `ops: { <step>: { config: {...} } }`.',
      };
    return { ok: true, value: value as RunConfigObject };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
}

function parseTags(text: string): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const part of text.split(/[,\n]/)) {
    const t = part.trim();
    if (!t) continue;
    const eq = t.indexOf('=');
    if (eq === -1) tags[t] = '';
    else tags[t.slice(0, eq).trim()] = t.slice(eq + 1).trim();
  }
  return tags;
}

function FieldInput({
  field,
  value,
  error,
  onChange,
}: {
  field: ConfigField;
  value: unknown;
  error: string | undefined;
  onChange: (value: unknown) => void;
}) {
  const external = fieldInputText(field, value);
  const [text, setText] = useState(external);
  const [localError, setLocalError] = useState<string | null>(null);
  // Follow edits made in the raw editor.
  useEffect(() => {
    setText((current) => {
      const parsed = parseFieldInput(field, current);
      return parsed.ok && JSON.stringify(parsed.value) === JSON.stringify(value) ? current : external;
    });
    setLocalError(null);
  }, [external, field, value]);

  const id = `f-${field.path.join('-')}`;
  const placeholder = field.hasDefault
    ? `default: ${JSON.stringify(field.default)}`
    : field.required
      ? 'required'
      : '';
  const commit = (input: string | boolean) => {
    const parsed = parseFieldInput(field, input);
    if (parsed.ok) {
      setLocalError(null);
      onChange(parsed.value);
    } else setLocalError(parsed.error);
  };

  let control: ReactNode;
  if (field.kind === 'boolean') {
    const checked = value === undefined ? field.default === true : value === true;
    control = (
      <label className="row small">
        <input id={id} type="checkbox" checked={checked} onChange={(e) => commit(e.target.checked)} />
        {value === undefined && field.hasDefault ? <span className="muted">(default)</span> : null}
      </label>
    );
  } else if (field.kind === 'enum') {
    control = (
      <select
        id={id}
        value={value === undefined ? '' : JSON.stringify(value)}
        onChange={(e) => commit(e.target.value)}
      >
        {!field.required && (
          <option value="">
            {field.hasDefault ? `(default: ${JSON.stringify(field.default)})` : '(not set)'}
          </option>
        )}
        {(field.options ?? []).map((o) => (
          <option key={JSON.stringify(o)} value={JSON.stringify(o)}>
            {typeof o === 'string' ? o : JSON.stringify(o)}
          </option>
        ))}
      </select>
    );
  } else if (field.kind === 'json') {
    control = (
      <textarea
        id={id}
        rows={2}
        value={text}
        placeholder={placeholder}
        spellCheck={false}
        onChange={(e) => {
          setText(e.target.value);
          commit(e.target.value);
        }}
      />
    );
  } else {
    control = (
      <input
        id={id}
        type="text"
        inputMode={field.kind === 'string' ? 'text' : 'decimal'}
        value={text}
        placeholder={placeholder}
        spellCheck={false}
        onChange={(e) => {
          setText(e.target.value);
          commit(e.target.value);
        }}
      />
    );
  }
  const shownError = localError ?? error;
  return (
    <div className="field" data-field={field.path.join('.')}>
      <label htmlFor={id}>
        {field.label}
        {field.required && <span className="required"> *</span>}
        <span className="muted small"> {field.kind}</span>
      </label>
      <div>{control}</div>
      {field.description && <div className="hint">{field.description}</div>}
      {shownError && (
        <div className="field-error" role="alert">
          {shownError}
        </div>
      )}
    </div>
  );
}

interface JobChoice {
  location: string;
  job: JobDefinitionJson;
}

export function LaunchPage({
  job: jobParam,
  location: locationParam,
  selection: selectionParam,
}: {
  job: string | null;
  location: string | null;
  selection: string | null;
}) {
  const defs = useApi<DefinitionsResponse>('/api/definitions');
  const choices = useMemo<JobChoice[]>(
    () => (defs.data?.locations ?? []).flatMap((l) => l.jobs.map((job) => ({ location: l.name, job }))),
    [defs.data],
  );
  const [mode, setMode] = useState<'job' | 'selection'>(selectionParam && !jobParam ? 'selection' : 'job');
  const [choiceId, setChoiceId] = useState('');
  const [selection, setSelection] = useState(selectionParam ?? '');
  const [location, setLocation] = useState(locationParam ?? '');
  const [format, setFormat] = useState<Format>('yaml');
  const [config, setConfig] = useState<RunConfigObject>({});
  const [text, setText] = useState('');
  const [rawError, setRawError] = useState<string | null>(null);
  const [tagsText, setTagsText] = useState('');
  const [submitError, setSubmitError] = useState<unknown>(null);
  const [submitting, setSubmitting] = useState(false);
  const [attempted, setAttempted] = useState(false);

  // Pick the job from the URL, else the first one.
  useEffect(() => {
    if (choices.length === 0 || choiceId) return;
    const wanted =
      choices.find((c) => c.job.name === jobParam && (!locationParam || c.location === locationParam)) ??
      choices[0]!;
    setChoiceId(`${wanted.location}\u0000${wanted.job.name}`);
  }, [choices, choiceId, jobParam, locationParam]);
  useEffect(() => {
    if (!location && defs.data?.locations.length) setLocation(defs.data.locations[0]!.name);
  }, [defs.data, location]);

  const choice = choices.find((c) => `${c.location}\u0000${c.job.name}` === choiceId);
  const forms = useMemo(
    () => (mode === 'job' ? configFormFromSchema(choice?.job.configSchema) : []),
    [mode, choice],
  );

  // A new job starts from its defaults (not on a format switch: hence the ref).
  const formatRef = useRef(format);
  formatRef.current = format;
  const defaults = useMemo(
    () => mergeConfig(scaffoldRunConfig(forms), mode === 'job' ? choice?.job.defaultRunConfig : undefined),
    [forms, mode, choice],
  );
  useEffect(() => {
    setConfig(defaults);
    setText(serialize(defaults, formatRef.current));
    setRawError(null);
    setSubmitError(null);
    setAttempted(false);
  }, [defaults]);

  const setFromForm = (field: ConfigField, value: unknown) => {
    const next = setPath(config, field.path, value);
    setConfig(next);
    setText(serialize(next, format));
    setRawError(null);
  };
  const setFromRaw = (value: string) => {
    setText(value);
    const parsed = parseRaw(value);
    if (parsed.ok) {
      setConfig(parsed.value);
      setRawError(null);
    } else setRawError(parsed.error);
  };
  const switchFormat = (next: Format) => {
    setFormat(next);
    if (!rawError) setText(serialize(config, next));
  };

  const clientErrors = useMemo(() => validateRunConfig(forms, config), [forms, config]);
  const serverMessage =
    submitError instanceof ApiError && submitError.status === 400 ? submitError.message : null;
  const serverFieldErrors = useMemo(
    () => (serverMessage ? fieldErrorsFromMessage(forms, serverMessage) : new Map<string, string>()),
    [forms, serverMessage],
  );

  const submit = async () => {
    setAttempted(true);
    setSubmitError(null);
    if (rawError) return;
    if (mode === 'job' && (!choice || clientErrors.size > 0)) return;
    if (mode === 'selection' && !selection.trim()) {
      setSubmitError(new Error('Type a selection, e.g. group:DS or +ds_png2webp.'));
      return;
    }
    setSubmitting(true);
    try {
      const tags = parseTags(tagsText);
      const body =
        mode === 'job'
          ? { location: choice!.location, job: choice!.job.name, runConfig: config }
          : { ...(location ? { location } : {}), selection: selection.trim(), runConfig: config };
      const res = await apiPost<{ runId: string }>('/api/runs', {
        ...body,
        ...(Object.keys(tags).length ? { tags } : {}),
      });
      navigate(href('runs', res.runId));
    } catch (e) {
      setSubmitError(e);
    } finally {
      setSubmitting(false);
    }
  };

  if (defs.error)
    return (
      <div className="page">
        <ErrorBox error={defs.error} />
      </div>
    );
  if (!defs.data) return <Loading what="definitions" />;

  return (
    <div className="page">
      <div className="page-header">
        <h1>Launch a run</h1>
      </div>
      <div className="panel stack">
        <div className="row">
          <label className="row">
            <input type="radio" name="mode" checked={mode === 'job'} onChange={() => setMode('job')} /> A job
          </label>
          <label className="row">
            <input
              type="radio"
              name="mode"
              checked={mode === 'selection'}
              onChange={() => setMode('selection')}
            />{' '}
            An asset selection
          </label>
        </div>
        {mode === 'job' ? (
          <div className="stack">
            <select
              value={choiceId}
              onChange={(e) => setChoiceId(e.target.value)}
              aria-label="Job"
              data-testid="job-select"
              style={{ maxWidth: 480 }}
            >
              {(defs.data.locations ?? []).map((l) => (
                <optgroup key={l.name} label={l.name}>
                  {l.jobs.map((j) => (
                    <option key={j.name} value={`${l.name}\u0000${j.name}`}>
                      {j.name}
                    </option>
                  ))}
                </optgroup>
              ))}
            </select>
            {choice && (
              <div className="small muted">
                {choice.job.description && <div>{choice.job.description}</div>}
                <div>
                  {choice.job.type}
                  {choice.job.selection ? (
                    <>
                      {' '}
                      · selection <code>{choice.job.selection}</code>
                    </>
                  ) : null}{' '}
                  · steps: {choice.job.steps.join(', ') || '-'}
                </div>
              </div>
            )}
            {choices.length === 0 && <span className="muted">No jobs are defined.</span>}
          </div>
        ) : (
          <div className="row">
            <select value={location} onChange={(e) => setLocation(e.target.value)} aria-label="Code location">
              {defs.data.locations.map((l) => (
                <option key={l.name} value={l.name}>
                  {l.name}
                </option>
              ))}
            </select>
            <input
              type="text"
              value={selection}
              onChange={(e) => setSelection(e.target.value)}
              placeholder="group:DS, +ds_png2webp, tag:tier=silver…"
              className="mono"
              style={{ flex: '1 1 280px' }}
              aria-label="Selection"
              spellCheck={false}
            />
            <a className="small" href={href('graph', { selection })}>
              preview in lineage
            </a>
          </div>
        )}
      </div>

      {forms.length > 0 && (
        <div className="panel stack">
          <h2>Config</h2>
          {forms.map((form) => (
            <div className="config-step" key={form.step}>
              <h3 className="mono">
                {form.step}
                {form.required && <span className="required small"> needs config</span>}
              </h3>
              {form.description && <div className="small muted">{form.description}</div>}
              {form.fields.length === 0 && (
                <span className="muted small">Config without named fields: use the editor below.</span>
              )}
              {form.fields.map((field) => {
                const key = field.path.join('.');
                const error = serverFieldErrors.get(key) ?? (attempted ? clientErrors.get(key) : undefined);
                return (
                  <FieldInput
                    key={key}
                    field={field}
                    value={fieldValue(config, field)}
                    error={error}
                    onChange={(v) => setFromForm(field, v)}
                  />
                );
              })}
            </div>
          ))}
        </div>
      )}

      <div className="panel stack">
        <div className="row">
          <h2 style={{ margin: 0 }}>Run config</h2>
          <span style={{ flex: 1 }} />
          <div className="row small">
            <label className="row">
              <input
                type="radio"
                name="format"
                checked={format === 'yaml'}
                onChange={() => switchFormat('yaml')}
              />{' '}
              YAML
            </label>
            <label className="row">
              <input
                type="radio"
                name="format"
                checked={format === 'json'}
                onChange={() => switchFormat('json')}
              />{' '}
              JSON
            </label>
          </div>
        </div>
        <textarea
          rows={Math.min(24, Math.max(6, text.split('\n').length + 1))}
          value={text}
          onChange={(e) => setFromRaw(e.target.value)}
          spellCheck={false}
          aria-label="Run config"
          data-testid="run-config"
          placeholder={'ops:\n  <step>:\n    config:\n      <field>: <value>'}
        />
        {rawError && (
          <div className="error-box">
            <strong>The config does not parse</strong>
            <pre>{rawError}</pre>
          </div>
        )}
        <label className="stack small" style={{ gap: 4 }}>
          Tags (k=v, comma-separated)
          <input
            type="text"
            value={tagsText}
            onChange={(e) => setTagsText(e.target.value)}
            placeholder="team=ds, reason=backfill"
          />
        </label>
      </div>

      {attempted && mode === 'job' && clientErrors.size > 0 && !submitError && (
        <div className="error-box" role="alert">
          <strong>Fix the config first</strong>
          <pre>{[...clientErrors].map(([k, v]) => `${k}: ${v}`).join('\n')}</pre>
        </div>
      )}
      <ErrorBox error={submitError} title={serverMessage ? 'The server refused this run' : undefined} />
      <div className="row">
        <button
          type="button"
          className="primary"
          onClick={() => void submit()}
          disabled={submitting || (mode === 'job' && !choice)}
          data-testid="launch"
        >
          {submitting ? 'Launching…' : 'Launch run'}
        </button>
        <button
          type="button"
          onClick={() => {
            setConfig(defaults);
            setText(serialize(defaults, format));
            setRawError(null);
          }}
        >
          Reset to defaults
        </button>
      </div>
    </div>
  );
}
