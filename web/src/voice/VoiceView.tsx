import {
  BarVisualizer,
  LiveKitRoom,
  RoomAudioRenderer,
  useConnectionState,
  useLocalParticipant,
  useRoomContext,
  useTranscriptions,
  useVoiceAssistant,
} from "@livekit/components-react";
import { useEffect, useState } from "react";
import { api } from "../api/client";
import type { User, VoiceAvailability, VoiceGrant } from "../api/types";
import {
  describeVoiceError,
  mediaFailureName,
  microphoneUnavailableReason,
  VOICE_LABELS,
  voiceUiState,
} from "./state";

// How long the butler may take to join a room before the screen says it did not.
const AGENT_JOIN_SECONDS = 30;

type Phase = { name: "idle" } | { name: "fetching" } | { name: "joined"; grant: VoiceGrant };

function Transcript({ butlerName }: { butlerName: string }) {
  const { localParticipant } = useLocalParticipant();
  const streams = useTranscriptions();
  return (
    <div className="messages transcript" role="log" aria-live="polite" aria-label="Transcript">
      {streams.map((stream) => {
        const mine = stream.participantInfo.identity === localParticipant.identity;
        return (
          <article key={stream.streamInfo.id} className={`message ${mine ? "user" : "assistant"}`}>
            <span className="visually-hidden">{mine ? "You" : butlerName}: </span>
            <p className="plain">{stream.text}</p>
          </article>
        );
      })}
    </div>
  );
}

function Session({ butlerName, onEnd }: { butlerName: string; onEnd: () => void }) {
  const room = useRoomContext();
  const connection = useConnectionState();
  const { state: agentState, audioTrack } = useVoiceAssistant();
  const { isMicrophoneEnabled, localParticipant } = useLocalParticipant();
  const [agentSeen, setAgentSeen] = useState(false);
  const [waitedTooLong, setWaitedTooLong] = useState(false);
  useEffect(() => {
    if (["listening", "thinking", "speaking", "idle"].includes(agentState)) setAgentSeen(true);
  }, [agentState]);
  useEffect(() => {
    // A butler that never joins (no worker free) must not leave a spinner forever.
    const timer = setTimeout(() => setWaitedTooLong(true), AGENT_JOIN_SECONDS * 1000);
    return () => clearTimeout(timer);
  }, []);
  const state = voiceUiState(connection, agentState, agentSeen || waitedTooLong);

  const end = async () => {
    await room.disconnect();
    onEnd();
  };

  return (
    <>
      <div className="voice-stage" data-state={state}>
        <BarVisualizer state={agentState} barCount={5} track={audioTrack} className="visualiser" />
        <p className="voice-state" role="status" aria-live="polite" data-testid="voice-state">
          {VOICE_LABELS[state]}
        </p>
        <p className="hint">Speak any time, even while {butlerName} is talking, to interrupt.</p>
      </div>
      <div className="voice-controls">
        <button
          type="button"
          aria-pressed={!isMicrophoneEnabled}
          onClick={() => void localParticipant.setMicrophoneEnabled(!isMicrophoneEnabled)}
        >
          {isMicrophoneEnabled ? "Mute" : "Unmute"}
        </button>
        <button type="button" className="danger" onClick={() => void end()}>
          End
        </button>
      </div>
      <Transcript butlerName={butlerName} />
      <RoomAudioRenderer />
    </>
  );
}

/** Whether voice works on this Butler, asked before the microphone is offered. */
function useVoiceAvailability(): VoiceAvailability | null {
  const [availability, setAvailability] = useState<VoiceAvailability | null>(null);
  useEffect(() => {
    let current = true;
    api
      .json<VoiceAvailability>("/api/auth/voice")
      .then((found) => current && setAvailability(found))
      .catch((caught: unknown) =>
        current &&
        setAvailability({
          available: false,
          message: caught instanceof Error ? caught.message : String(caught),
        }),
      );
    return () => {
      current = false;
    };
  }, []);
  return availability;
}

export default function VoiceView({ user }: { user: User }) {
  const [phase, setPhase] = useState<Phase>({ name: "idle" });
  const [error, setError] = useState<string | null>(null);
  const availability = useVoiceAvailability();
  const butlerName = user.soul.butler_name;
  const admin = user.role === "admin";

  const fail = (message: string) => {
    setError(message);
    setPhase({ name: "idle" });
  };

  const start = async () => {
    setError(null);
    const unavailable = microphoneUnavailableReason();
    if (unavailable) return fail(unavailable);
    setPhase({ name: "fetching" });
    // The microphone first: a refusal is said at once, and no room is opened for nothing.
    try {
      const probe = await navigator.mediaDevices.getUserMedia({ audio: true });
      for (const track of probe.getTracks()) track.stop();
    } catch (caught) {
      return fail(describeVoiceError(caught, undefined, admin));
    }
    try {
      const grant = await api.json<VoiceGrant>("/api/auth/token", { method: "POST" });
      setPhase({ name: "joined", grant });
    } catch (caught) {
      fail(caught instanceof Error ? caught.message : String(caught));
    }
  };

  const grant = phase.name === "joined" ? phase.grant : null;
  return (
    <section className="voice" aria-label="Voice">
      {error && (
        <p className="error" role="alert" data-testid="voice-error">
          {error}
        </p>
      )}
      {grant ? (
        <LiveKitRoom
          serverUrl={grant.livekit_url}
          token={grant.livekit_token}
          connect
          audio
          video={false}
          className="voice-room"
          // Butler's ICE servers (none by default): never the public STUN servers a
          // LiveKit server hands out when it has none of its own.
          connectOptions={{
            rtcConfig: { iceServers: grant.ice_servers.map((urls) => ({ urls })) },
          }}
          onError={(caught) => fail(describeVoiceError(caught, grant.livekit_url, admin))}
          onMediaDeviceFailure={(failure) =>
            fail(describeVoiceError({ name: mediaFailureName(failure) }, grant.livekit_url, admin))
          }
          onDisconnected={() => setPhase((p) => (p.name === "joined" ? { name: "idle" } : p))}
        >
          <Session butlerName={butlerName} onEnd={() => setPhase({ name: "idle" })} />
        </LiveKitRoom>
      ) : availability && !availability.available ? (
        <div className="voice-stage" data-state="unavailable">
          <p className="voice-state" role="status" data-testid="voice-unavailable">
            {availability.message}
          </p>
          {availability.fix && (
            <p className="hint" data-testid="voice-fix">
              {availability.fix}
            </p>
          )}
        </div>
      ) : (
        <div className="voice-stage" data-state={phase.name === "fetching" ? "connecting" : "idle"}>
          <button
            type="button"
            className="mic"
            onClick={() => void start()}
            disabled={phase.name === "fetching" || availability === null}
            aria-label={`Talk to ${butlerName}`}
          >
            <svg viewBox="0 0 24 24" aria-hidden="true" width="40" height="40">
              <path
                fill="currentColor"
                d="M12 14a3 3 0 0 0 3-3V5a3 3 0 1 0-6 0v6a3 3 0 0 0 3 3Zm5-3a5 5 0 0 1-10 0H5a7 7 0 0 0 6 6.92V21h2v-3.08A7 7 0 0 0 19 11h-2Z"
              />
            </svg>
          </button>
          <p className="voice-state" role="status" data-testid="voice-state">
            {phase.name === "fetching" ? VOICE_LABELS.connecting : VOICE_LABELS.idle}
          </p>
        </div>
      )}
    </section>
  );
}
