package discordsim_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/bwmarrin/discordgo"

	"github.com/xbridge/xbridge/adapters/discord/discordsim"
)

// Point discordgo at the simulator: its REST calls go through a transport
// that rewrites discord.com, and its Gateway URL comes from the simulator.
func Example() {
	sim, err := discordsim.New(discordsim.Options{BotToken: "token", GuildID: "1200000000000000001"})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(sim)
	defer srv.Close()
	defer sim.Close()
	sim.AddChannel(discordsim.Channel{ID: "1300000000000000001", Name: "support", Type: discordsim.ChannelText})

	rt, err := discordsim.Transport(srv.URL, nil)
	if err != nil {
		panic(err)
	}
	session, _ := discordgo.New("Bot token")
	session.Client = &http.Client{Transport: rt}

	if _, err := session.ChannelMessageSend("1300000000000000001", "hello agents"); err != nil {
		panic(err)
	}
	msgs := sim.Messages("1300000000000000001")
	fmt.Println(len(msgs), msgs[0].Content, msgs[0].Bot, len(sim.Violations()))
	// Output: 1 hello agents true 0
}
