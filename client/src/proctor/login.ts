/**
 * The two steps before the dashboard when the URL doesn't carry them: sign in, pick an exam.
 */
import { byId, el } from '../shared/dom.js';
import { errorText } from '../shared/socket.js';
import type { Auth } from './auth.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface ExamSummary {
  id: string;
  title: string;
}

/** Resolves once the proctor signed in. */
export function showLogin(auth: Auth): Promise<void> {
  const section = byId('login-view', HTMLElement);
  const form = byId('login-form', HTMLFormElement);
  const email = byId('login-email', HTMLInputElement);
  const password = byId('login-password', HTMLInputElement);
  const error = byId('login-error', HTMLElement);
  const submit = form.querySelector('button');
  section.hidden = false;
  email.focus();
  return new Promise((resolve) => {
    const onSubmit = (event: SubmitEvent) => {
      event.preventDefault();
      error.textContent = '';
      if (submit) submit.disabled = true;
      auth.signIn(email.value.trim(), password.value).then(
        () => {
          form.removeEventListener('submit', onSubmit);
          password.value = '';
          section.hidden = true;
          resolve();
        },
        (err: unknown) => {
          error.textContent = errorText(err);
          if (submit) submit.disabled = false;
          password.select();
        },
      );
    };
    form.addEventListener('submit', onSubmit);
  });
}

/** Resolves with the chosen exam id. */
export function showExamPicker(auth: Auth): Promise<string> {
  const section = byId('exam-view', HTMLElement);
  const form = byId('exam-form', HTMLFormElement);
  const select = byId('exam-select', HTMLSelectElement);
  const pickerField = byId('exam-select-field', HTMLElement);
  const input = byId('exam-id', HTMLInputElement);
  const error = byId('exam-error', HTMLElement);
  section.hidden = false;
  void fillExams(auth, select, pickerField);
  input.focus();
  return new Promise((resolve) => {
    const onSubmit = (event: SubmitEvent) => {
      event.preventDefault();
      const id = input.value.trim() || select.value;
      if (!UUID.test(id)) {
        error.textContent = 'Choose an exam or enter its ID (a UUID).';
        return;
      }
      form.removeEventListener('submit', onSubmit);
      section.hidden = true;
      resolve(id);
    };
    form.addEventListener('submit', onSubmit);
  });
}

/** `GET /api/v1/exams` is optional: without it the proctor types the exam ID. */
async function fillExams(auth: Auth, select: HTMLSelectElement, field: HTMLElement): Promise<void> {
  try {
    const exams = await auth.json<unknown>('GET', '/api/v1/exams');
    if (!Array.isArray(exams)) return;
    const options = (exams as ExamSummary[])
      .filter((e) => typeof e.id === 'string')
      .map((e) => el('option', { value: e.id }, e.title || e.id));
    if (options.length === 0) return;
    select.replaceChildren(el('option', { value: '' }, 'Choose an exam…'), ...options);
    field.hidden = false;
  } catch (err) {
    console.info('exam list unavailable; using the ID field', err);
  }
}
