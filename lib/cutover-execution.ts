import { Colour, ColourRelease, StageTiming } from './private/contract';

/** What a cutover execution does. */
export enum CutoverAction {
  /** Release `imageId` and/or `version` into the idle colour and move traffic to it (the default). */
  DEPLOY = 'deploy',
  /** Move traffic back to the colour the last successful cutover left, while it is still warm and unchanged. */
  ROLLBACK = 'rollback',
}

/**
 * The input of a cutover execution: the JSON an operator or a pipeline starts the state machine
 * (`fleet.stateMachine`) with. Every field is optional; unknown fields end the execution with
 * {@link CutoverErrorName.INVALID_INPUT}.
 */
export interface CutoverExecutionInput {
  /**
   * An AMI id to deploy into the idle colour.
   * @default - the idle colour keeps the image the live colour runs
   */
  readonly imageId?: string;
  /**
   * An application version to deploy into the idle colour.
   * @default - the idle colour keeps the version the live colour runs
   */
  readonly version?: string;
  /**
   * Deploy, or roll back to the previous colour.
   * @default CutoverAction.DEPLOY
   */
  readonly action?: CutoverAction;
  /**
   * Who started the execution, kept in the fleet's release history: 1 to 256 characters, no
   * control characters (the CLI sends the caller's identity).
   * @default - the history names no one
   */
  readonly startedBy?: string;
}

/**
 * The output of a cutover execution that succeeded. A failed execution ends with one of
 * {@link CutoverErrorName} as its error instead.
 */
export interface CutoverExecutionOutput {
  /** What the execution did. */
  readonly action: CutoverAction;
  /** The colour that serves production traffic now. */
  readonly live: Colour;
  /** The colour that served before. */
  readonly previous: Colour;
  /** What the live colour runs. */
  readonly liveRelease: ColourRelease;
  /** What the previous colour runs. */
  readonly previousRelease: ColourRelease;
  /** Start and end of each stage, in order. */
  readonly stages: StageTiming[];
}
