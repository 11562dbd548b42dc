/** Types of build.mjs, for the tests that build and run the bundle. */
export declare const AGENT_BUNDLE: string;
export declare function buildAgent(): Promise<string>;
