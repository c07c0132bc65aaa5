// Views: Preact with htm tagged templates (no build step). Every screen imports from here.
import { h, render } from 'preact';
import { useState, useEffect, useMemo, useRef, useCallback } from 'preact/hooks';
import htm from 'htm';

export const html = htm.bind(h);
export { h, render, useState, useEffect, useMemo, useRef, useCallback };
