package slack

import (
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestManifest(t *testing.T) {
	t.Parallel()
	type manifest struct {
		DisplayInformation struct {
			Name string `yaml:"name"`
		} `yaml:"display_information"`
		Features struct {
			BotUser struct {
				DisplayName string `yaml:"display_name"`
			} `yaml:"bot_user"`
			SlashCommands []struct {
				Command string `yaml:"command"`
				URL     string `yaml:"url"`
			} `yaml:"slash_commands"`
		} `yaml:"features"`
		OAuthConfig struct {
			Scopes struct {
				Bot []string `yaml:"bot"`
			} `yaml:"scopes"`
		} `yaml:"oauth_config"`
		Settings struct {
			EventSubscriptions struct {
				RequestURL string   `yaml:"request_url"`
				BotEvents  []string `yaml:"bot_events"`
			} `yaml:"event_subscriptions"`
			Interactivity struct {
				IsEnabled  bool   `yaml:"is_enabled"`
				RequestURL string `yaml:"request_url"`
			} `yaml:"interactivity"`
			SocketModeEnabled bool `yaml:"socket_mode_enabled"`
		} `yaml:"settings"`
	}
	tests := []struct {
		name       string
		appName    string
		url        string
		socket     bool
		eventsURL  string
		actionsURL string
	}{
		{"http", `Acme "Support"`, "https://bridge.example.com/", false,
			"https://bridge.example.com/slack/events", "https://bridge.example.com/slack/interactions"},
		{"socket mode", "xbridge", "", true, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			raw := Manifest(tt.appName, tt.url, tt.socket)
			var m manifest
			if err := yaml.Unmarshal([]byte(raw), &m); err != nil {
				t.Fatalf("not YAML: %v\n%s", err, raw)
			}
			if m.DisplayInformation.Name != tt.appName || m.Features.BotUser.DisplayName != tt.appName {
				t.Errorf("name %q / %q, want %q", m.DisplayInformation.Name, m.Features.BotUser.DisplayName, tt.appName)
			}
			for _, s := range []string{"chat:write", "chat:write.customize", "reactions:write", "reactions:read",
				"channels:history", "groups:history", "users:read", "usergroups:read", "commands"} {
				if !slices.Contains(m.OAuthConfig.Scopes.Bot, s) {
					t.Errorf("scope %s missing", s)
				}
			}
			for _, e := range []string{"message.channels", "message.groups", "reaction_added"} {
				if !slices.Contains(m.Settings.EventSubscriptions.BotEvents, e) {
					t.Errorf("event %s missing", e)
				}
			}
			if len(m.Features.SlashCommands) != 1 || m.Features.SlashCommands[0].Command != "/xb" {
				t.Errorf("slash commands = %+v", m.Features.SlashCommands)
			}
			if m.Settings.SocketModeEnabled != tt.socket || !m.Settings.Interactivity.IsEnabled {
				t.Errorf("socket_mode_enabled %v interactivity %v", m.Settings.SocketModeEnabled, m.Settings.Interactivity.IsEnabled)
			}
			if m.Settings.EventSubscriptions.RequestURL != tt.eventsURL || m.Settings.Interactivity.RequestURL != tt.actionsURL {
				t.Errorf("request URLs %q %q", m.Settings.EventSubscriptions.RequestURL, m.Settings.Interactivity.RequestURL)
			}
			if !tt.socket && m.Features.SlashCommands[0].URL != strings.TrimSuffix(tt.url, "/")+"/slack/commands" {
				t.Errorf("slash command URL %q", m.Features.SlashCommands[0].URL)
			}
		})
	}
}
