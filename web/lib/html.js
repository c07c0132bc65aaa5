// Views: Preact with htm tagged templates (no build step). Every screen imports from here.
import { h, render } from '../vendor/preact.module.js';
import { useState, useEffect, useMemo, useRef, useCallback } from '../vendor/hooks.module.js';
import htm from '../vendor/htm.module.js';

export const html = htm.bind(h);
export { h, render, useState, useEffect, useMemo, useRef, useCallback };
